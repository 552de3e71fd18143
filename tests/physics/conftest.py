import matplotlib

# Figures are only inspected, never shown.
matplotlib.use("Agg")
