"""The pest and disease image library and automated identification."""
