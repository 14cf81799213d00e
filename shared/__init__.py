"""What the API and the workers share: settings, errors, images, storage keys, the queue contract, models.

Imports neither ``api`` nor ``worker`` (checked by the import contract in pyproject), so either side
can be installed and run without the other.
"""
