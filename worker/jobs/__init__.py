"""What each job item does on a worker: render an image, a video segment or a join, embed a style, refine it.

Also the style swatches, network validation, webhook delivery, the result cache and output
encoding. Each executor loads its item by id, runs the engine with the database session closed,
and records the outcome; ``item_roles.py`` picks the executor by the item's role.
"""
