"""Benchmark: sentiment methods side by side on public labelled reviews, and analysis speed.

    .venv/bin/python benchmarks/bench_feedback.py --data DIR            # accuracy table
    .venv/bin/python benchmarks/bench_feedback.py --speed 1000 10000    # texts analysed per run
    .venv/bin/python benchmarks/bench_feedback.py --data DIR --train-head   # rewrite the shipped head

DIR holds public data sets (kept out of the repository; see tools/feedback/README.md):

- ``uci_amazon_cells.txt``, ``uci_imdb.txt``, ``uci_yelp.txt``: "Sentiment Labelled Sentences"
  (Kotzias et al., KDD 2015; UCI Machine Learning Repository, CC BY 4.0), 1,000 sentences
  each (phones, films, restaurants), ``sentence<TAB>0|1``. The shipped head is trained on
  all three; each is also held out in turn (leave-one-domain-out).
- ``womens_clothing.csv``: "Women's E-Commerce Clothing Reviews" (Kaggle, CC0 public
  domain; the 1,000-review sample that public repositories carry), star ratings 1-5. Never
  trained on: a product-review domain with stars, like the reviews Mara analyses.
- ``sst2_dev.tsv`` (optional): SST-2 dev sentences (Socher et al. 2013, film; no licence
  stated, so evaluation only).

Methods: VADER (``vaderSentiment``, MIT; a lexicon, not a dependency of Mara — the table says
"not installed" without it), the bundled MiniLM embeddings + the shipped logistic head,
MiniLM + class prototypes (mean positive minus mean negative embedding), and TF-IDF +
logistic regression trained on the same sentences (the classic supervised baseline).
AUC ranks positive (4-5 stars / label 1) above negative (1-2 stars / label 0); 3 stars are left out.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from tools.feedback.sentiment import HEAD_PATH, SentimentHead, load_head, score_texts  # noqa: E402
from tools.feedback.text import clean_text  # noqa: E402

UCI = ("amazon_cells", "imdb", "yelp")
Dataset = tuple[list[str], np.ndarray]


def _uci(folder: Path, name: str) -> Dataset:
    texts, labels = [], []
    for line in (folder / f"uci_{name}.txt").read_text(encoding="utf-8", errors="replace").splitlines():
        text, _, value = line.rpartition("\t")
        if value.strip() in ("0", "1") and text.strip():
            texts.append(text.strip())
            labels.append(int(value))
    return texts, np.array(labels)


def _clothing(folder: Path) -> tuple[Dataset, list[str]]:
    """Rated reviews (title + text) with 4-5 stars positive, 1-2 negative; and the 3-star texts."""
    texts, labels, neutral = [], [], []
    with (folder / "womens_clothing.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            body = (row.get("Review Text") or "").strip()
            if not body:
                continue
            text = f"{row['Title'].strip()}. {body}" if (row.get("Title") or "").strip() else body
            stars = int(row["Rating"])
            if stars == 3:
                neutral.append(text)
            else:
                texts.append(text)
                labels.append(int(stars >= 4))
    return (texts, np.array(labels)), neutral


def _sst2(folder: Path) -> Dataset | None:
    path = folder / "sst2_dev.tsv"
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["content"] for r in rows], np.array([int(r["label"]) for r in rows])


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def _vader() -> Callable[[list[str]], np.ndarray] | None:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        return None
    analyzer = SentimentIntensityAnalyzer()
    return lambda texts: np.array([analyzer.polarity_scores(t)["compound"] for t in texts])


def _encoder() -> Any:
    from knowledge.embeddings import document_encoder, get_encoder

    return document_encoder(get_encoder(), "int8")


def _fit_head(embeddings: np.ndarray, labels: np.ndarray, c: float = 0.3) -> SentimentHead:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=5000).fit(embeddings, labels)
    return SentimentHead(model.coef_[0].astype(np.float32), float(model.intercept_[0]), "trained")


def _prototype_head(embeddings: np.ndarray, labels: np.ndarray) -> SentimentHead:
    direction = embeddings[labels == 1].mean(axis=0) - embeddings[labels == 0].mean(axis=0)
    middle = (embeddings[labels == 1].mean(axis=0) + embeddings[labels == 0].mean(axis=0)) / 2
    scale = 8.0 / float(np.linalg.norm(direction))
    return SentimentHead((direction * scale).astype(np.float32), float(-middle @ direction * scale), "prototypes")


def _tfidf(train: Dataset) -> Callable[[list[str]], np.ndarray]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
                          LogisticRegression(C=10, max_iter=5000)).fit(train[0], train[1])
    return lambda texts: model.predict_proba(texts)[:, 1]


def accuracy_table(folder: Path, train_head: bool) -> dict[str, Any]:
    encoder = _encoder()
    uci = {name: _uci(folder, name) for name in UCI}
    (clothing, three_stars) = _clothing(folder)
    sets: dict[str, Dataset] = {"clothing (stars)": clothing}
    sst2 = _sst2(folder)
    if sst2 is not None:
        sets["sst2 dev"] = sst2

    def embed(texts: list[str]) -> Any:
        return score_texts([clean_text(t) for t in texts], encoder, load_head())

    sys.stderr.write("… embedding the public sets\n")
    emb = {name: embed(texts) for name, (texts, _) in {**{f"uci {k}": v for k, v in uci.items()}, **sets}.items()}
    all_train = np.vstack([emb[f"uci {k}"].embeddings for k in UCI])
    all_labels = np.concatenate([uci[k][1] for k in UCI])
    head = _fit_head(all_train, all_labels)
    if train_head:
        HEAD_PATH.write_text(json.dumps({
            "model": "logistic regression (C=0.3) on all-MiniLM-L6-v2 embeddings (int8 document encoder)",
            "trained_on": "UCI Sentiment Labelled Sentences (Kotzias et al. 2015), 3,000 sentences, CC BY 4.0",
            "bias": round(head.bias, 6),
            "weights": [round(float(w), 6) for w in head.weights],
        }) + "\n", encoding="utf-8")
        load_head.cache_clear()
        sys.stderr.write(f"wrote {HEAD_PATH}\n")
    shipped = load_head()
    prototypes = _prototype_head(all_train, all_labels)
    tfidf = _tfidf((sum((uci[k][0] for k in UCI), []), all_labels))
    vader = _vader()

    rows: list[dict[str, Any]] = []
    for name, (texts, labels) in sets.items():
        scores = {
            "vader": vader(texts) if vader else None,
            "minilm + shipped head": shipped.score(emb[name].embeddings),
            "minilm + prototypes": prototypes.score(emb[name].embeddings),
            "tf-idf + logreg (same training)": tfidf(texts) * 2 - 1,
        }
        for method, s in scores.items():
            rows.append({"eval": name, "method": method,
                         "auc": None if s is None else round(_auc(labels, s), 3),
                         "accuracy": None if s is None else round(float(np.mean((s > 0) == labels)), 3),
                         "n": len(labels)})
    for held in UCI:  # leave one domain out: train on the other two
        train = [k for k in UCI if k != held]
        x = np.vstack([emb[f"uci {k}"].embeddings for k in train])
        y = np.concatenate([uci[k][1] for k in train])
        texts, labels = uci[held]
        scores = {
            "vader": vader(texts) if vader else None,
            "minilm + logreg head": _fit_head(x, y).score(emb[f"uci {held}"].embeddings),
            "minilm + prototypes": _prototype_head(x, y).score(emb[f"uci {held}"].embeddings),
            "tf-idf + logreg (same training)": _tfidf((sum((uci[k][0] for k in train), []), y))(texts) * 2 - 1,
        }
        for method, s in scores.items():
            rows.append({"eval": f"uci {held} (held out)", "method": method,
                         "auc": None if s is None else round(_auc(labels, s), 3),
                         "accuracy": None if s is None else round(float(np.mean((s > 0) == labels)), 3),
                         "n": len(labels)})
    neutral = shipped.score(embed(three_stars).embeddings) if three_stars else np.zeros(0)
    return {"rows": rows, "vader_installed": vader is not None,
            "three_star_mean_score": round(float(neutral.mean()), 3) if len(neutral) else None}


def speed(sizes: list[int]) -> list[dict[str, Any]]:
    """Seconds to analyse N demo-style reviews end to end (clean, embed, score, themes), no cache."""
    from assistant.demo_reviews import sample_review_texts
    from tools.feedback.analysis import analyze_texts

    out = []
    for n in sizes:
        texts = sample_review_texts(n, seed=11)
        start = time.perf_counter()
        result = analyze_texts(texts, ids=list(range(n)))
        seconds = time.perf_counter() - start
        out.append({"texts": n, "seconds": round(seconds, 1), "texts_per_second": round(n / seconds),
                    "themes": len(result.themes)})
        sys.stderr.write(f"  {n} texts: {seconds:.1f} s\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="folder with the public data sets")
    parser.add_argument("--train-head", action="store_true", help="retrain and write the shipped head")
    parser.add_argument("--speed", type=int, nargs="*", help="texts per timed run (e.g. 1000 10000)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    if args.data:
        report["accuracy"] = accuracy_table(args.data, args.train_head)
    if args.speed:
        report["speed"] = speed(args.speed)
    if args.json:
        print(json.dumps(report))
        return
    for row in report.get("accuracy", {}).get("rows", []):
        auc = "n/a" if row["auc"] is None else f"{row['auc']:.3f}"
        acc = "n/a" if row["accuracy"] is None else f"{row['accuracy']:.3f}"
        print(f"{row['eval']:<28} {row['method']:<34} AUC {auc:>6}  acc {acc:>6}  n={row['n']}")
    if "accuracy" in report:
        print(f"mean score of 3-star clothing reviews: {report['accuracy']['three_star_mean_score']}")
    for row in report.get("speed", []):
        print(f"{row['texts']:>6} texts: {row['seconds']:>6.1f} s ({row['texts_per_second']} texts/s, {row['themes']} themes)")


if __name__ == "__main__":
    main()
