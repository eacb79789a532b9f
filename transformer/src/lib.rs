//! Transformers: preprocess/postprocess hooks and built-in transforms.
