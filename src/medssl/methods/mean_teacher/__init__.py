"""mean_teacher: Tarvainen & Valpola (2017) on supervised_cnn's network."""
