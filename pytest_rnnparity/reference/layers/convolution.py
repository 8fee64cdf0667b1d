"""Keras' ``Conv1D`` layer (channels last), in NumPy.

Mirrors ``keras/src/layers/convolutional/conv1d.py`` and ``base_conv.py``, whose
convolution is ``tf.nn.convolution`` (``keras/src/backend/tensorflow/nn.py``,
``conv``). That convolution is a cross-correlation: the kernel is not flipped.

Notation
--------
B : batch size
L : number of input steps;  L_out : number of output steps
C : input channels;  F : ``filters``, the output channels
k, s, d : ``kernel_size``, ``strides``, ``dilation_rate``
G : ``groups``; input channels ``[g C/G, (g+1) C/G)`` feed filters ``[g F/G, (g+1) F/G)``
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from pytest_rnnparity.reference.activations import get_activation
from pytest_rnnparity.reference.masks import LayerOutput, steps_mask
from pytest_rnnparity.reference.types import Array, resolve_dtype

PADDINGS = ("valid", "same", "causal")


def same_padding(length: int, window: int, strides: int) -> tuple[int, int]:
    """TensorFlow's ``SAME`` padding of one axis: ``(before, after)``.

    ``L_out = ceil(L / s)``; the padding is what a window of ``window`` elements
    (``d (k - 1) + 1`` for a dilated kernel) needs at every ``s``-th start, split
    with the odd element *after*::

        total  = max((L_out - 1) s + window - L, 0)
        before = total // 2,  after = total - before

    So with strides > 1 the padding can be asymmetric, or absent on the left.
    """
    out = -(-length // strides)
    total = max((out - 1) * strides + window - length, 0)
    return total // 2, total - total // 2


def conv1d(
    inputs: ArrayLike,
    kernel: ArrayLike,
    bias: ArrayLike | None = None,
    *,
    strides: int | tuple[int] = 1,
    padding: str = "valid",
    dilation_rate: int | tuple[int] = 1,
    groups: int = 1,
    activation: str | None = None,
    mask: ArrayLike | None = None,
    dtype: DTypeLike = "float32",
    keras_major: int = 3,
) -> LayerOutput:
    """Run ``Conv1D`` (``data_format="channels_last"``).

    Equations (``x`` padded as ``padding`` says, ``g`` the group of filter ``f``)::

        y[b, t, f] = act(bias[f] + sum_{j < k} sum_{c < C/G}
                         x[b, t s + j d, g C/G + c] * kernel[j, c, f])

    Padding: ``"valid"`` none (``L_out = floor((L - d (k - 1) - 1) / s) + 1``);
    ``"same"`` TensorFlow's (see :func:`same_padding`, ``L_out = ceil(L / s)``);
    ``"causal"`` ``d (k - 1)`` zeros before the first step, none after, then
    ``"valid"``, so output ``t`` sees inputs up to ``t s`` only.

    ``Conv1D`` does not support masking: an incoming mask is checked, not used,
    and dropped (Keras' ``Layer.__call__`` warns and passes none on); padded steps
    are convolved like any other.

    Parameters
    ----------
    inputs : array, shape (B, L, C)
    kernel : array, shape (k, C / groups, filters)
    bias : array, shape (filters,), optional
        None for ``use_bias=False``.
    strides, dilation_rate : int or 1-tuple
        Keras refuses both above 1 at once; so does this function.
    padding : "valid", "same" or "causal" (any case, as Keras accepts)
    groups : int
        Must divide both ``C`` and ``filters``.
    activation : str or None
        A Keras activation name, applied after the bias.
    mask : array, shape (B, L), optional
    dtype : "float32" or "float64"
        The computation dtype inputs, kernel and bias are cast to.
    keras_major : int
        Which Keras' activation definitions to use (see ``get_activation``).

    Returns
    -------
    LayerOutput
        ``output`` of shape ``(B, L_out, filters)``; ``mask`` None.

    Raises
    ------
    ValueError
        If an option is out of range, the shapes of inputs, kernel, bias or mask do
        not fit, or the output would have no steps.
    UnsupportedModelError
        If the activation is not supported.
    """
    compute_dtype = resolve_dtype(dtype)
    step = window_option(strides, "strides", "Conv1D")
    dilation = window_option(dilation_rate, "dilation_rate", "Conv1D")
    if step > 1 and dilation > 1:
        raise ValueError(
            f"Conv1D: strides > 1 is not supported with dilation_rate > 1, "
            f"got strides={step}, dilation_rate={dilation}"
        )
    mode = padding.lower()
    if mode not in PADDINGS:
        raise ValueError(f"Conv1D: padding must be one of {PADDINGS}, got {padding!r}")
    if groups < 1:
        raise ValueError(f"Conv1D: groups must be a positive integer, got {groups}")
    w = np.asarray(kernel, dtype=compute_dtype)
    if w.ndim != 3:
        raise ValueError(
            f"Conv1D: kernel must have shape (kernel_size, channels / groups, filters), "
            f"got {w.shape}"
        )
    kernel_size, group_channels, filters = w.shape
    if filters % groups:
        raise ValueError(f"Conv1D: filters ({filters}) must be divisible by groups ({groups})")
    channels = group_channels * groups
    x = np.asarray(inputs, dtype=compute_dtype)
    if x.ndim != 3 or x.shape[2] != channels:
        raise ValueError(
            f"Conv1D: expected inputs of shape (batch, steps, channels={channels}) for a "
            f"kernel of shape {w.shape} and groups={groups}, got {x.shape}"
        )
    steps_mask(mask, x, "Conv1D")

    window = dilation * (kernel_size - 1) + 1
    length = x.shape[1]
    if mode == "same":
        before, after = same_padding(length, window, step)
    elif mode == "causal":
        before, after = window - 1, 0
    else:
        before = after = 0
    padded_length = length + before + after
    out_steps = (padded_length - window) // step + 1 if padded_length >= window else 0
    if out_steps < 1:
        raise ValueError(
            f"Conv1D: {length} steps are too few for kernel_size={kernel_size}, "
            f"dilation_rate={dilation} and padding={padding!r}: the output would have "
            "no steps"
        )
    x = np.pad(x, ((0, 0), (before, after), (0, 0)))

    # windows[b, t, j, :] = x[b, t s + j d, :]
    taps = np.arange(out_steps)[:, np.newaxis] * step + np.arange(kernel_size) * dilation
    windows = x[:, taps]  # (B, L_out, k, C)
    batch = x.shape[0]
    filters_per_group = filters // groups
    # One matmul per group, stacked: (G, B L_out, k C/G) @ (G, k C/G, F/G).
    patches = (
        windows.reshape(batch * out_steps, kernel_size, groups, group_channels)
        .transpose(2, 0, 1, 3)
        .reshape(groups, batch * out_steps, kernel_size * group_channels)
    )
    group_kernels = (
        w.reshape(kernel_size, group_channels, groups, filters_per_group)
        .transpose(2, 0, 1, 3)
        .reshape(groups, kernel_size * group_channels, filters_per_group)
    )
    y: Array = np.matmul(patches, group_kernels)  # (G, B L_out, F/G)
    y = y.transpose(1, 0, 2).reshape(batch, out_steps, filters)
    if bias is not None:
        b = np.asarray(bias, dtype=compute_dtype)
        if b.shape != (filters,):
            raise ValueError(f"Conv1D: bias must have shape ({filters},), got {b.shape}")
        y = y + b
    return LayerOutput(get_activation(activation, keras_major=keras_major)(y), None)


def window_option(value: int | tuple[int], name: str, layer: str) -> int:
    """A Keras 1-D option given as ``int`` or ``(int,)``, checked to be a positive integer.

    Raises
    ------
    ValueError
        If it is not.
    """
    number = value[0] if isinstance(value, tuple | list) and len(value) == 1 else value
    if not isinstance(number, int | np.integer) or isinstance(number, bool) or number < 1:
        raise ValueError(f"{layer}: {name} must be a positive integer or a 1-tuple, got {value!r}")
    return int(number)
