"""Everything that touches Keras objects: building a spec's model, its weights per gate,
the model as reference layers, running it so every step can be read, the Keras generation
and the environment."""
