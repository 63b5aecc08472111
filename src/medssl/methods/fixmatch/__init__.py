"""fixmatch: Sohn et al. (2020) on supervised_cnn's network."""
