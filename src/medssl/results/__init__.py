"""Results across experiments: the tables and figures of a label-budget sweep."""
