"""Deployed artifacts without Keras: what an artifact is, running it, reading every step back.

An artifact (``.onnx`` or ``.tflite``) comes with a JSON sidecar describing the Keras
chain it was converted from (:class:`~.manifest.Artifact`, written by
:mod:`pytest_rnnparity.model.conversion`). :func:`~.onnx_runtime.run_onnx` (onnxruntime)
and :func:`~.tflite_runtime.run_tflite` (LiteRT) run it and read back everything the
runtime exposes: model outputs, layer outputs, and per step the hidden states, cell
states and gates, in the names and layouts of the reference traces
(:class:`~.readout.Readout`), and say why the rest cannot be read.

Never imports keras or tensorflow; onnx, onnxruntime and ai-edge-litert are imported by
the functions that need them (the ``onnx`` and ``tflite`` extras).
"""

from __future__ import annotations
