"""Hidden states: reading checkpoints, extracting and caching states, PCA, representations.

Import-light on purpose (no transformers): ``mi_toolkit`` imports ``states.extract`` at
package import, and weights load only when an extraction is not cached.
"""
