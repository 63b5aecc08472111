"""Code several methods use: losses, the K+1 semi-supervised GAN, the per-class GANs with their
variation score and open-set evaluation, supervised classifiers, augmentation, generator quality.
Every method's train stage depends on this folder, so code used by one method belongs in its own."""
