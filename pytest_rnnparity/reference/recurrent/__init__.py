"""Keras' recurrent cells and layers, in NumPy: the steps, the time loop, masks,
``go_backwards``, ``Bidirectional``, stacked cells, ConvLSTM, and the classic mistakes."""
