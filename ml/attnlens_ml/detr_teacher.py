"""detr-teacher: the zoo's detection teacher at 4x the students' steps, so the detection demo shows the parts.

    ml/.venv/bin/python -m attnlens_ml.experiments detr-teacher           # train (resumable, ml/runs/detr-teacher-long)
    ml/.venv/bin/python -m attnlens_ml.experiments detr-teacher --ship    # export it over the zoo's detr-teacher

At the students' budget (800 steps) the teacher drew 12 boxes over the gallery's 155 parts at the app's old 0.5
threshold, and at its F1-best threshold (0.30) put 56 of 97 boxes on a part. The same network and recipe
(pipeline.DETR_RUNS: data order, batch 16, lr 1e-3) trained 3,200 steps replaces it: test AP 0.315 → 0.579, and at
its threshold (0.40) 91 of its 99 gallery boxes lie on a part. The students are trained on
labels alone (no distillation from this teacher), so their files and every student-vs-student comparison stay
as they were; teacher-vs-student rows now compare against a teacher with 4x the budget, and the cards say so.

`--ship` exports the run as public/models/detr-teacher.onnx and, as the pipeline would: its recommended score
threshold (thresholds.annotate_zoo), the letterbox test variant (variants.add_variants), the open batch axis
(batch_axis.open_file), its index.json entry (file facts, test and check-slice AP from the file, latency,
training record) and the cards' detector row. The 800-step teacher's figures stay in
index.json experiments.detector_teacher.before, for the cards' comparison. Afterwards regenerate the letterbox
end-to-end reference: `cd ml && .venv/bin/python scripts/letterbox_reference.py`.
"""

from __future__ import annotations

import json

DETR_TEACHER = 'detr-teacher'


def teacher_run() -> dict:
    from .pipeline import DETR_RUNS

    return next(r for r in DETR_RUNS if r.get('ship') == DETR_TEACHER)


def train() -> dict:
    from .train_detr import train_detr

    run = teacher_run()
    return train_detr(**{k: v for k, v in run.items() if k != 'ship'})


def gallery_view(path, threshold: float) -> dict:
    """What the detection demo opens with: boxes drawn over the gallery at `threshold`, how many of them lie on a
    part (IoU >= 0.5 with a same-class truth box, the app's matching), and the gallery's objects."""
    from .dataset import load_split
    from .thresholds import ground_truth, predictions, true_positives
    from .zoo import GALLERY

    images = load_split('test')['images'][:GALLERY]
    truth = ground_truth('test', GALLERY)
    kept = [(s[s >= threshold], c[s >= threshold], b[s >= threshold]) for s, c, b in predictions(path, images)]
    return {
        'images': GALLERY,
        'objects': int(sum(len(c) for c, _ in truth)),
        'threshold': threshold,
        'boxes': int(sum(len(s) for s, _, _ in kept)),
        'on_a_part': int(sum(true_positives(d, t) for d, t in zip(kept, truth))),
    }


def ship() -> None:
    from .batch_axis import open_file
    from .cards import write_cards
    from .dataset import load_split
    from .pipeline import detector_result, export_detector
    from .thresholds import annotate_zoo
    from .thresholds import file_facts as threshold_file_facts
    from .train_detr import load_detr
    from .training import finished
    from .variants import add_variants
    from .zoo import GALLERY, MODELS, ROOT, detr_metrics_onnx, file_facts, node_latency

    run = teacher_run()
    info = finished(run['name'])
    if not info:
        raise SystemExit(f'{run["name"]} has not finished: run `experiments detr-teacher` first')
    index_path = MODELS / 'index.json'
    index = json.loads(index_path.read_text())
    entry = next(m for m in index['models'] if m['id'] == DETR_TEACHER)
    doc = index['experiments'].get('detector_teacher', {})
    if 'before' not in doc:  # the first ship keeps the teacher it replaces, for the cards
        old = ROOT / 'public' / entry['file']
        doc['before'] = {
            'steps': entry['training']['steps'],
            'test': entry['metrics']['test'],
            'val': entry['training']['val'],
            'score_threshold': entry.get('score_threshold'),
            'gallery': gallery_view(old, entry['score_threshold']['value']),
            'gallery_at_0.5': gallery_view(old, 0.5),
        }

    model = load_detr(run['name'], run['cfg'])
    _, path = export_detector(run, model)
    test = load_split('test')
    result = detector_result(run, path, test)
    entry.update(file_facts(path, model))
    entry['metrics'] = {
        'test': result['test'],
        'check_slice': detr_metrics_onnx(path, test['images'][:GALLERY], 'test'),
    }
    entry['latency_ms'] = {'onnxruntime_node': node_latency([path]).get(path.name)}
    entry['training'] = info
    index['experiments']['detectors'][DETR_TEACHER] = result
    annotate_zoo(index)  # the threshold into its contract (and entry)
    add_variants(index)  # the letterbox variant copies that contract
    for e in [entry, *index.get('variants', [])]:  # add_variants rewrote every variant
        p = ROOT / 'public' / e['file']
        open_file(p)
        e.update(threshold_file_facts(p))
    doc['after'] = {'steps': info['steps'], 'gallery': gallery_view(path, entry['score_threshold']['value'])}
    doc['student_steps'] = max(d['steps'] for k, d in index['experiments']['detectors'].items() if k != DETR_TEACHER)
    index['experiments']['detector_teacher'] = doc
    index_path.write_text(json.dumps(index, indent=1))
    write_cards(index)
    t, th = result['test'], entry['score_threshold']
    print(
        f'[ship] {run["name"]} → {DETR_TEACHER}: test AP {t["ap"]:.4f} AP50 {t["ap50"]:.4f}; threshold '
        f'{th["value"]} (val F1 {th["val_f1"]:.3f}, recall {th["recall"]:.3f}); gallery {doc["after"]["gallery"]}',
        flush=True,
    )
