"""The ``chainrule`` command line: train, evaluate and predict with feed-forward networks.

``chainrule train`` with no arguments runs the lecture notes' digits network
(64-100-30-10, leaky ReLU hidden layers, softmax output, Adam) on
scikit-learn's 8x8 digits and writes a run folder::

    runs/<YYYYmmdd-HHMMSS>-<dataset>/
        model.npz           the trained model (chainrule.load_model reads it)
        metrics.json        {"train": {...}, "validation": {...}, "test": {...},
                             "config": {...}, "data": {...}, "preprocessing": {...}, ...}
        config.toml         the run's settings; ``chainrule train --config`` repeats the run
        history.csv         one row of loss and metrics per epoch
        loss.png, accuracy.png (or r2.png), confusion_matrix.png,
        decision_regions.png and hidden_units.png for 2-D inputs

Every setting has a flag (``chainrule train --help``) and a key of the same
name in a TOML file given with ``--config``; flags override the file, the
file overrides the data set's defaults (:data:`PRESETS`), which override
:data:`DEFAULTS`.

Choices made here (where the issue is silent):

* Classification, binary included, uses a softmax output with one unit per
  class and ``sparse_categorical_crossentropy`` on integer labels, so that
  two-class and ten-class problems read the same way; ``--output-activation
  sigmoid`` on a two-class set gives one sigmoid unit and
  ``binary_crossentropy`` instead.  Regression (franke, sine) uses a linear
  output and ``mse``, and reports R^2 and MAE.
* Sets that are not split already are split 80/20 into train and test
  (stratified for classification) with the run's seed; the validation set is
  ``--val-split`` of the training part.  The logic gates have four points, so
  they train, validate and test on all four.
* Tabular inputs are standardized with the statistics of the training part;
  images are flattened and divided by 255.  The statistics are stored in
  ``metrics.json`` (``"preprocessing"``) so ``evaluate`` and ``predict`` apply
  exactly the same transformation.
* Exit status: 0 success, 1 an error with the data or a run folder (one
  message on stderr, no traceback), 2 a usage error (a bad flag or config
  value), 130 interrupted (Ctrl-C).
"""
from .commands import (_Snapshot, build_model, cmd_datasets, cmd_evaluate, cmd_predict, cmd_train,
                       main)
from .config import (CONFIG_KEYS, DEFAULTS, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, PRESETS,
                     RunError, UsageError, build_parser, parse_layers, resolve_config)
from .data import Data, apply_preprocessing, prepare_data

__all__ = ["main", "build_parser", "DEFAULTS", "PRESETS", "CONFIG_KEYS", "UsageError", "RunError"]
