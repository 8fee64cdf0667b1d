"""The layers around the recurrent ones, in NumPy: embeddings, convolutions, pooling,
reshaping, normalization, merges and attention, each with Keras' mask rules."""
