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
* Exit status: 0 success, 1 an error with the data or a run folder, or a
  run that diverged (one message on stderr, no traceback), 2 a usage error
  (a bad flag or config value), 130 interrupted (Ctrl-C).
* Divergence is an event, never a number: when a batch loss becomes NaN or
  infinite, training stops there (``--no-stop-on-nan`` trains on), the model
  of the last epoch whose training and validation losses were finite is
  kept, ``metrics.json`` says ``"status": "diverged"`` and where, and the
  message names the epoch and suggests a smaller learning rate.  If no epoch
  was finite, nothing is saved.  ``predict`` and ``evaluate`` refuse a model
  with NaN weights.
* ``metrics.json`` is strict JSON: a NaN or infinite value is written as
  ``null`` and its key listed under ``"non_finite"``.
* The run folder is created when the first epoch ends, so a run that fails
  or is interrupted before that leaves nothing behind.
* ``predict`` reads any line ending and a UTF-8 byte-order mark; the first
  row is a header only when none of its fields is a number (a note says
  so); errors name the line and column.
"""
from .commands import (_Snapshot, build_model, cmd_datasets, cmd_evaluate, cmd_predict, cmd_train,
                       main)
from .config import (CONFIG_KEYS, DEFAULTS, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, PRESETS,
                     RunError, UsageError, build_parser, parse_layers, resolve_config)
from .data import Data, apply_preprocessing, prepare_data

__all__ = ["main", "build_parser", "DEFAULTS", "PRESETS", "CONFIG_KEYS", "UsageError", "RunError"]
