"""The core every stage uses: params loading and validation, errors, atomic io, device and seeding,
data parallelism, metrics and figures. Nothing here imports data, models, methods or the pipeline.
"""
