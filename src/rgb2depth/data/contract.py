"""The sample and batch contract: the one place that defines it.

A **sample** is a ``dict`` produced by :class:`rgb2depth.data.PairedDepthDataset`
or :class:`rgb2depth.data.UnpairedDepthDataset` and passed through the transforms
of :mod:`rgb2depth.data.transforms`. A **batch** is what ``torch.utils.data.DataLoader``
makes of samples with its default collate: every tensor gains a leading batch
dimension ``B`` and strings become lists.

``rgb``: (C, H, W) float32, C = 3 (or 1 after
    :class:`~rgb2depth.data.transforms.Grayscale`). In [0, 1] as loaded, in
    [-1, 1] after :class:`~rgb2depth.data.transforms.ToModelRange`.
``depth``: (1, H, W) float32. Depth in the dataset's ``depth_units``
    (``dataset.json``) as loaded, 0 where invalid. After ``ToModelRange`` the
    dataset's ``depth_range`` maps linearly to [-1, 1] (valid depth outside the
    range is clipped to it) and invalid pixels hold ``ToModelRange.fill``
    (+1, the far end).
``mask``: (1, H, W) bool, True where ``depth`` is valid. Every transform that
    moves depth pixels moves the mask with them and never blends valid with
    invalid depth.
``name``: str, the sample's file stem (paired samples only).
``rgb_name``, ``depth_name``: str, the file stems of the two halves (unpaired
    samples only).

Paired samples hold ``rgb``, ``depth``, ``mask`` and ``name`` of one view: geometric
transforms (resize, crop, flip, rotation) act on all three identically.
Unpaired samples hold an RGB image and a depth map drawn independently (seed 000):
the dataset transforms the RGB part and the depth part in two separate calls, so
nothing couples them. Photometric transforms (gamma, equalisation, blur, channel
swap, grayscale) touch ``rgb`` only. A transform receives a sample that may lack
``rgb`` or ``depth`` (an unpaired half) and transforms what is there.

Rotation fills RGB pixels that come in from outside the image with 0 (black) and
marks their depth invalid. Float tensors keep the floating dtype they come in.

Metric units come back with
:func:`rgb2depth.data.transforms.depth_from_model_range`, the exact inverse of
``ToModelRange`` on valid pixels.
"""

SAMPLE_KEYS = ("rgb", "depth", "mask", "name", "rgb_name", "depth_name")
