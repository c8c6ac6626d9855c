"""Avatar Forcing runtime: real-time reactive head avatars driven by a causal Diffusion-Forcing Transformer."""

__version__ = "0.1.0"
