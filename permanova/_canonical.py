"""The canonical row order of a run: results that depend neither on the order of the rows
of ``data`` nor on the subject labels."""

from __future__ import annotations

import dataclasses

import numpy as np

from permanova import _validation


def canonical_rows(cols: _validation.Columns, canonical: bool):
    """The rows in an order that depends neither on the order of ``data`` nor on the
    subject labels, and the rows of each outcome in that order.

    Between designs: by cell, then by outcome value (rows equal in both are
    interchangeable). Repeated measures: subjects ordered by between cell, then by their
    outcomes cell by cell; within a subject, by within cell. Random permutations of these
    rows, hence every result, are then the same for any row order of the data. Each
    outcome gets its own order; the design (cells, subjects by cell) is the same in all of
    them, so the outcomes share it. ``canonical=False`` (user permutations or rotations,
    which index the rows as given) keeps the data's order.
    """
    if not canonical:
        return cols, [np.arange(cols.y.shape[0])] * cols.y.shape[1]
    orders = [canonical_order(cols, cols.y[:, k]) for k in range(cols.y.shape[1])]
    order, rank = orders[0]
    # the subjects are recoded by rank, so that no basis depends on their labels either
    subject = None if cols.subject_codes is None else rank[cols.subject_codes[order]]
    cols = dataclasses.replace(
        cols,
        codes={name: codes[order] for name, codes in cols.codes.items()},
        covariates={name: values[order] for name, values in cols.covariates.items()},
        subject_codes=subject,
    )
    return cols, [rows for rows, _ in orders]


def canonical_order(cols: _validation.Columns, y: np.ndarray):
    """``(order, subject ranks or None)`` of one outcome (see :func:`canonical_rows`)."""
    between = [cols.codes[f] for f in reversed(cols.between)]
    covariates = list(cols.covariates.values())[::-1]
    if not cols.within:
        return np.lexsort([y, *covariates, *between]), None
    within = [cols.codes[f] for f in reversed(cols.within)]
    n_subjects = int(cols.subject_codes.max()) + 1
    if cols.replicated:  # the subjects by their cell means and counts; replicates by value
        table, counts = _cell_table(cols, y, n_subjects)
        first = np.unique(cols.subject_codes, return_index=True)[1]
        cell_keys = [*table.T[::-1], *counts.T[::-1]]
    else:
        by_subject = np.lexsort([*within, cols.subject_codes])  # the subject-by-cell table
        table = y[by_subject].reshape(n_subjects, -1)
        first = by_subject[:: table.shape[1]]  # one row of each subject
        cell_keys = list(table.T[::-1])
    subject_keys = [*cell_keys, *(v[first] for v in covariates), *(c[first] for c in between)]
    rank = np.empty(n_subjects, dtype=np.intp)
    rank[np.lexsort(subject_keys)] = np.arange(n_subjects)
    return np.lexsort([y, *within, rank[cols.subject_codes]]), rank


def _cell_table(cols: _validation.Columns, y: np.ndarray, n_subjects: int):
    """Each subject's mean outcome and number of observations in each within cell."""
    cells = _validation._cell_index(cols, cols.within)
    shape = (n_subjects, int(np.prod([cols.n_levels[f] for f in cols.within])))
    sums, counts = np.zeros(shape), np.zeros(shape)
    np.add.at(sums, (cols.subject_codes, cells), y)
    np.add.at(counts, (cols.subject_codes, cells), 1.0)
    return sums / counts, counts
