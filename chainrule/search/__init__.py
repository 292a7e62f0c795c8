"""Hyper-parameter search: the notes' eta x lambda grids in one call, on one core, all cores or a Dask cluster.

The lecture notes tune every network by a grid over the learning rate eta and the L2 penalty
lambda (``np.logspace(-5, 1, 7)`` each) and read the best cell off heatmaps of train and test
accuracy.  Here that is one call::

    from chainrule import nn, optim
    from chainrule.search import grid_search

    def build(p):
        model = nn.Sequential([nn.Dense(50, activation="sigmoid", kernel_regularizer=nn.l2(p["lmbd"]), input_dim=64),
                               nn.Dense(10, activation="softmax")])
        return model.compile(optimizer=optim.SGD(lr=p["eta"]), loss="sparse_categorical_crossentropy",
                             metrics=["accuracy"])

    r = grid_search(build, {"eta": np.logspace(-5, 1, 7), "lmbd": np.logspace(-5, 1, 7)}, X_train, y_train,
                    validation=(X_test, y_test), fit_kwargs={"epochs": 100, "batch_size": 100}, n_jobs=-1)
    r.best_params, r.best_score; r.plot(path="heatmaps.png"); r.to_csv("results.csv")

* :func:`grid_search`, :func:`random_search` (lists are choices, scipy.stats distributions
  such as ``loguniform(1e-5, 1e1)`` are sampled) and :func:`halving_search` (successive halving
  over epochs, samples or any parameter);
* ``build(params)`` returns a compiled chainrule model, a scikit-learn estimator (e.g.
  :class:`chainrule.sklearn.MLPClassifier`) or ``(FFNN, scheduler)`` of :mod:`chainrule.ffnn`;
* validation by ``validation=(X_val, y_val)``, ``validation_split=0.2`` or ``cv=k``;
* ``n_jobs`` loky worker processes (joblib) or ``scheduler=`` a Dask cluster; every trial is
  seeded from the search seed and a hash of its parameters, and runs with the same number of
  BLAS threads everywhere, so the table is the same on 1 worker, N workers or a cluster;
* every finished trial is appended to the journal (one JSON line, fsynced) by the driver;
  ``resume=True`` finishes an interrupted search and refuses a journal of another one;
* :class:`SearchResult` has scikit-learn's ``cv_results_``, ``best_params``, ``best_score``,
  ``best_model`` (``refit=True``), ``to_csv`` and ``plot`` (the notes' heatmaps, mean +- std).
"""
from chainrule.search.core import TrialError, grid_search, halving_search, random_search
from chainrule.search.journal import Journal, JournalError
from chainrule.search.result import SearchResult

__all__ = ["grid_search", "random_search", "halving_search", "SearchResult", "Journal", "JournalError",
           "TrialError"]
