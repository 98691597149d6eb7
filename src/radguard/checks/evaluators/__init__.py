"""One module per area; each registers its evaluators with ``@evaluator``."""
