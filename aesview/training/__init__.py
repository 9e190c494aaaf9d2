"""Training and evaluation of the aesthetic GAP-CNN: dataset readers (AVA, AADB, generic CSV,
the self-supervised defect set), the paper's sample-specific weighting, the training loop and
the evaluation. Imports the core, never the GUI."""
