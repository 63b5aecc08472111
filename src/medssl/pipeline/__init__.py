"""The pipeline steps that are not methods: the features network, pseudo-labels, the inputs each
method reads, training and evaluating one method, and the report."""
