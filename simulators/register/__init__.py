"""A simulated Brønnøysund business register (Enhetsregisteret's open API, the parts we use)."""
