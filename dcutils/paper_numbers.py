"""Numbers printed in the papers, for side-by-side comparison with reproduced values.

One section per paper. Values are in percent as printed; each block cites its
source (the paper's table or figure, as given in the catalog
``/work/shared/FIGURES.md`` and the paper text ``papers/<paper>.txt``).
Reproduced numbers are never typed here.
"""
from __future__ import annotations

# ============================================================================
# RDC: "Rethinking Deep Clustering Paradigms: Self-Supervision Is All You Need"
# ============================================================================

#: R-DC Tables 3-5 (papers/rdc.txt, Section 4.2.1): (ACC, F1 macro, F1 micro) in
#: percent per (data set, method). The catalog row of tab03 repeats the
#: CIFAR10 / FMNIST values of R-DC, DynAE, DEC, IDEC and AE + k-means, and of
#: tab04 / tab05 R-DC's. DDC-UCO's FMNIST F1 macro is printed "44,2" in the
#: text; its F1 micro (31.4 FMNIST, 26.4 BloodMNIST) differs from its ACC as
#: printed.
RDC_CLUSTERING: dict[tuple[str, str], tuple[float, float, float]] = {
    # Table 3: CIFAR10
    ("cifar10", "FINCH"): (48.2, 45.2, 48.2),
    ("cifar10", "VaDE"): (20.3, 18.8, 20.3),
    ("cifar10", "AE + k-means"): (52.7, 51.4, 52.7),
    ("cifar10", "DEC"): (51.4, 49.9, 51.4),
    ("cifar10", "IDEC"): (50.3, 48.4, 50.3),
    ("cifar10", "PSSC"): (23.3, 22.0, 23.3),
    ("cifar10", "CC"): (37.8, 37.2, 37.8),
    ("cifar10", "DDC-UCO"): (33.8, 19.8, 33.8),
    ("cifar10", "DynAE"): (56.9, 55.6, 56.9),
    ("cifar10", "R-DC"): (60.1, 59.3, 60.1),
    # Table 3: FMNIST
    ("fmnist", "FINCH"): (52.5, 49.1, 52.5),
    ("fmnist", "VaDE"): (59.6, 59.4, 59.6),
    ("fmnist", "AE + k-means"): (53.2, 50.7, 53.2),
    ("fmnist", "DEC"): (51.9, 50.0, 51.9),
    ("fmnist", "IDEC"): (53.9, 50.2, 53.9),
    ("fmnist", "PSSC"): (56.6, 54.9, 56.6),
    ("fmnist", "CC"): (42.5, 42.6, 42.5),
    ("fmnist", "DDC-UCO"): (49.9, 44.2, 31.4),
    ("fmnist", "DynAE"): (59.5, 58.8, 59.4),
    ("fmnist", "R-DC"): (66.6, 65.7, 66.6),
    # Table 4: VesselMNIST3D
    ("vesselmnist3d", "FINCH"): (83.5, 45.5, 83.5),
    ("vesselmnist3d", "VaDE"): (84.6, 46.6, 84.6),
    ("vesselmnist3d", "AE + k-means"): (85.3, 46.0, 85.3),
    ("vesselmnist3d", "DEC"): (81.1, 47.9, 81.1),
    ("vesselmnist3d", "IDEC"): (81.8, 46.8, 81.8),
    ("vesselmnist3d", "PSSC"): (72.4, 44.5, 72.4),
    ("vesselmnist3d", "CC"): (88.7, 47.0, 88.7),
    ("vesselmnist3d", "DDC-UCO"): (57.4, 40.2, 57.4),
    ("vesselmnist3d", "DynAE"): (86.2, 46.2, 86.2),
    ("vesselmnist3d", "R-DC"): (88.2, 46.9, 88.2),
    # Table 4: PneumoniaMNIST
    ("pneumoniamnist", "FINCH"): (51.8, 37.0, 51.8),
    ("pneumoniamnist", "VaDE"): (71.8, 68.9, 71.8),
    ("pneumoniamnist", "AE + k-means"): (61.4, 58.6, 61.4),
    ("pneumoniamnist", "DEC"): (59.4, 57.1, 59.4),
    ("pneumoniamnist", "IDEC"): (66.7, 66.1, 66.7),
    ("pneumoniamnist", "PSSC"): (81.1, 77.7, 81.1),
    ("pneumoniamnist", "CC"): (53.4, 52.8, 53.4),
    ("pneumoniamnist", "DDC-UCO"): (74.4, 69.6, 74.4),
    ("pneumoniamnist", "DynAE"): (62.1, 58.8, 62.1),
    ("pneumoniamnist", "R-DC"): (86.7, 83.4, 86.7),
    # Table 5: BreastMNIST
    ("breastmnist", "FINCH"): (60.6, 46.2, 60.6),
    ("breastmnist", "VaDE"): (53.9, 52.9, 53.9),
    ("breastmnist", "AE + k-means"): (59.5, 56.4, 59.5),
    ("breastmnist", "DEC"): (55.5, 53.6, 55.5),
    ("breastmnist", "IDEC"): (59.8, 56.8, 59.8),
    ("breastmnist", "PSSC"): (68.0, 63.6, 68.0),
    ("breastmnist", "CC"): (57.1, 41.6, 57.1),
    ("breastmnist", "DDC-UCO"): (60.2, 58.6, 60.2),
    ("breastmnist", "DynAE"): (63.8, 60.3, 63.8),
    ("breastmnist", "R-DC"): (66.7, 62.8, 66.7),
    # Table 5: BloodMNIST
    ("bloodmnist", "FINCH"): (40.2, 38.5, 40.2),
    ("bloodmnist", "VaDE"): (40.6, 35.5, 40.6),
    ("bloodmnist", "AE + k-means"): (44.6, 42.1, 44.6),
    ("bloodmnist", "DEC"): (42.2, 40.3, 42.2),
    ("bloodmnist", "IDEC"): (44.9, 42.3, 44.9),
    ("bloodmnist", "PSSC"): (43.2, 41.7, 43.2),
    ("bloodmnist", "CC"): (43.4, 42.5, 43.4),
    ("bloodmnist", "DDC-UCO"): (45.6, 35.9, 26.4),
    ("bloodmnist", "DynAE"): (46.3, 43.4, 46.3),
    ("bloodmnist", "R-DC"): (59.1, 55.6, 59.1),
}

#: R-DC Table 6 (papers/rdc.txt Section 4.2.1, catalog tab06): runtime in seconds
#: "for the same number of iterations" per (data set, method), on the authors'
#: Tesla T4.
RDC_RUNTIME: dict[tuple[str, str], float] = {
    **{("fmnist", m): v for m, v in (("FINCH", 26), ("VaDE", 365), ("AE + k-means", 108), ("DEC", 107),
                                     ("IDEC", 120), ("PSSC", 1530), ("CC", 611), ("DDC-UCO", 3990),
                                     ("DynAE", 459), ("R-DC", 425))},
    **{("vesselmnist3d", m): v for m, v in (("FINCH", 2), ("VaDE", 152), ("AE + k-means", 28), ("DEC", 57),
                                            ("IDEC", 30), ("PSSC", 489), ("CC", 47), ("DDC-UCO", 45),
                                            ("DynAE", 167), ("R-DC", 237))},
    **{("pneumoniamnist", m): v for m, v in (("FINCH", 2), ("VaDE", 181), ("AE + k-means", 118), ("DEC", 50),
                                             ("IDEC", 55), ("PSSC", 1587), ("CC", 231), ("DDC-UCO", 385),
                                             ("DynAE", 144), ("R-DC", 199))},
}

#: R-DC Table 8 (ablation; papers/rdc.txt Section 4.2.3, catalog tab08): (ACC, F1 macro,
#: F1 micro) per (data set, phases). P1 = ACAI pretraining, P2 = proximity-level
#: self-supervision, P3 = DEC pseudo-supervision.
RDC_ABLATION: dict[tuple[str, str], tuple[float, float, float]] = {
    ("fmnist", "P1"): (55.6, 53.2, 55.6),
    ("fmnist", "P1+P2"): (66.6, 65.7, 66.6),
    ("fmnist", "P1+P3"): (58.8, 58.1, 58.8),
    ("fmnist", "P1+P2+P3"): (63.8, 62.3, 63.8),
    ("pneumoniamnist", "P1"): (82.9, 79.9, 82.9),
    ("pneumoniamnist", "P1+P2"): (86.5, 83.7, 86.5),
    ("pneumoniamnist", "P1+P3"): (63.3, 62.3, 63.3),
    ("pneumoniamnist", "P1+P2+P3"): (83.2, 79.1, 83.2),
    ("bloodmnist", "P1"): (47.2, 47.7, 47.2),
    ("bloodmnist", "P1+P2"): (59.1, 55.6, 59.1),
    ("bloodmnist", "P1+P3"): (48.2, 49.5, 48.2),
    ("bloodmnist", "P1+P2+P3"): (48.3, 49.5, 48.3),
    ("breastmnist", "P1"): (64.2, 60.9, 64.2),
    ("breastmnist", "P1+P2"): (66.7, 62.8, 66.7),
    ("breastmnist", "P1+P3"): (53.1, 44.0, 53.1),
    ("breastmnist", "P1+P2+P3"): (58.2, 57.8, 58.2),
}

#: R-DC Figure 12 (catalog fig12): DynAE and R-DC both start phase 2 at this FMNIST ACC (%).
RDC_FIG12_START_ACC = 55.8

#: R-DC Table 7 (papers/rdc.txt): number of hyperparameters per method. The
#: complexity column was lost in the text extraction (only R-DC's prose survives:
#: "an additional computational complexity term" for the k-NN search).
RDC_HYPERPARAMETER_COUNTS: dict[str, int] = {
    "FINCH": 0, "VaDE": 4, "AE + k-means": 1, "DEC": 3, "IDEC": 4,
    "PSSC": 6, "CC": 4, "DDC-UCO": 4, "DynAE": 3, "R-DC": 4,
}

#: R-DC Table 1 (papers/rdc.txt Section 4.1): samples and classes as printed.
RDC_DATASETS: dict[str, tuple[int, int]] = {
    "pneumoniamnist": (5_856, 2),
    "breastmnist": (780, 3),
    "bloodmnist": (17_092, 8),
    "vesselmnist3d": (1_908, 2),
    "cifar10": (60_000, 10),
    "fmnist": (70_000, 10),
}
