"""Model cards (docs/model-cards.md), written from public/models/index.json — never typed in by hand."""

from __future__ import annotations

from pathlib import Path

from .data import CLASS_NAMES

ROOT = Path(__file__).resolve().parents[2]


# One path's share of the router's weight at or above this is a collapse (as src/methods/sak/compute.ts).
ROUTER_COLLAPSE_SHARE = 0.95


def _mean_spread(values: list) -> str:
    """Mean over seeds, with the range when there are several."""
    if len(values) == 1:
        return _f(values[0])
    return f'{_f(sum(values) / len(values))} ({_f(min(values))}–{_f(max(values))})'


def _f(v, digits=3) -> str:
    return '–' if v is None else f'{v:.{digits}f}'


def _detector_seeds(d: dict) -> list[str]:
    """The detector comparisons over training seeds (experiments detr-seeds --summary --into-cards)."""
    planned = len(d['seeds_planned'])
    lines = [
        '',
        '### The detector comparisons over training seeds',
        '',
        f'Each student trained again with other seeds (model initialisation, batch order and augmentation all '
        f'keyed on the seed), same configuration, {d["steps"]} steps, batch and learning rate; seed 0 is the '
        f"zoo's own file. Test AP on the {d['images']} test images (pycocotools).",
        '',
        '| student | seeds | test AP per seed | mean | sd | range |',
        '|---|---|---|---:|---:|---|',
    ]
    for a in d['arms'].values():
        lines.append(
            f'| `{a["zoo_id"]}` | {", ".join(map(str, a["seeds"]))} | '
            + ', '.join(_f(v) for v in a['test_ap'])
            + f' | {_f(a["mean"])} | {_f(a["sd"])} | {_f(a["min"])}–{_f(a["max"])} |'
        )
    lines += [
        '',
        '| A − B | what A adds | seeds | A − B, mean over seeds | per seed | 95% interval (test images) | shows a difference |',
        '|---|---|---|---:|---|---|---|',
    ]
    for c in d['contrasts']:
        lo, hi = c['ci']
        verdict = 'yes, A better' if lo > 0 else 'yes, A worse' if hi < 0 else 'no'
        lines.append(
            f'| `{c["a"]}` − `{c["b"]}` | {c["what"]} | {", ".join(map(str, c["seeds"]))} | {c["diff"]:+.3f} | '
            + ', '.join(f'{v:+.3f}' for v in c['per_seed_diff'])
            + f' | [{lo:+.3f}, {hi:+.3f}] | {verdict} |'
        )
    short = [a['zoo_id'] for a in d['arms'].values() if len(a['seeds']) < planned]
    lines += [
        '',
        'The interval resamples test images with each student averaged over its seeds (both students scored on '
        'the same resample); it does not resample seeds — with '
        f'{min(len(a["seeds"]) for a in d["arms"].values())} seeds the per-seed column and the sd are the '
        'evidence on seed-to-seed variation.'
        + (f' Not yet at the planned {planned} seeds: {", ".join(f"`{x}`" for x in short)}.' if short else ''),
    ]
    return lines


def _detector_teacher(d: dict, shipped: dict, seeds: dict | None) -> list[str]:
    """The detection teacher's budget (detr_teacher.ship): why it trained longer, and what that does and does not
    change."""
    before, after = d['before'], d['after']
    th = shipped['score_threshold']
    bt = before['score_threshold']
    ratio = after['steps'] / d['student_steps']
    bg, ag = before['gallery'], after['gallery']
    return [
        '',
        '### The detection teacher trained longer than the students',
        '',
        f"`detr-teacher` trained {after['steps']:,} steps, {ratio:g}× the students' {d['student_steps']:,} (same "
        "network, data order, batch and learning rate). At the students' budget it found too few parts for the "
        'detection demo to show anything; the teacher is the reference a student is inspected against, not an arm of '
        'a comparison, so it gets the budget it needs. **Teacher-versus-student gaps therefore include '
        f'{ratio:g}× the training, not only the larger network**; every comparison between students above is at '
        'equal budget and unchanged (students learn from labels alone, not from this teacher).',
        '',
        '| teacher | steps | test AP | AP50 | recommended threshold | val F1 · precision · recall | gallery at that '
        'threshold: boxes · on a part · objects |',
        '|---|---:|---:|---:|---:|---|---|',
        f"| before (the students' budget) | {before['steps']:,} | {_f(before['test']['ap'])} | "
        f'{_f(before["test"]["ap50"])} | {bt["value"]:.2f} | {_f(bt["val_f1"])} · {_f(bt["precision"])} · '
        f'{_f(bt["recall"])} | {bg["boxes"]} · {bg["on_a_part"]} · {bg["objects"]} |',
        f'| shipped | {after["steps"]:,} | {_f(shipped["metrics"]["test"]["ap"])} | '
        f'{_f(shipped["metrics"]["test"]["ap50"])} | {th["value"]:.2f} | {_f(th["val_f1"])} · {_f(th["precision"])} · '
        f'{_f(th["recall"])} | {ag["boxes"]} · {ag["on_a_part"]} · {ag["objects"]} |',
        '',
        f"Gallery: the first {ag['images']} test scenes the app ships. One seed each: whether the longer run's gain "
        'exceeds seed-to-seed variation is not measured'
        + (
            f" (the students' seeds above span up to {max(a['max'] - a['min'] for a in seeds['arms'].values()):.3f} AP)."
            if seeds
            else '.'
        ),
    ]


def _found_per_class(found: dict) -> list[str]:
    """What each detector finds of each class at its recommended threshold (thresholds.found_per_class)."""
    first = next(iter(found.values()))
    classes = list(first['per_class'])
    lines = [
        '',
        f'What each detector finds at its recommended threshold ({first["split"]} split, {first["images"]} images): '
        'boxes matched to a ground-truth box of the same class at IoU 0.5, out of the ground-truth boxes of that '
        'class (recall).',
        '',
        '| model | threshold | ' + ' | '.join(classes) + ' |',
        '|---|---:|' + '---:|' * len(classes),
    ]
    for mid, f in found.items():
        cells = [f'{c["found"]} / {c["truth"]} ({c["found"] / c["truth"]:.0%})' for c in f['per_class'].values()]
        lines.append(f'| `{mid}` | {f["threshold"]:.2f} | ' + ' | '.join(cells) + ' |')
    weakest = min(
        classes, key=lambda k: max(f['per_class'][k]['found'] / f['per_class'][k]['truth'] for f in found.values())
    )
    best = max(f['per_class'][weakest]['found'] / f['per_class'][weakest]['truth'] for f in found.values())
    lines += [
        '',
        f'The hardest class is **{weakest}**: the detector that finds most of it finds {best:.0%} of its boxes. '
        'A detector judged by its AP alone hides this; the app shows it per class in Evaluate.',
    ]
    return lines


def _contrast(d: dict) -> str:
    """'−0.048 mIoU [−0.057, −0.039] on seed(s) 0, 1, 2' of a paired difference."""
    return f'{d["diff"]:+.3f} mIoU [{d["ci"][0]:+.3f}, {d["ci"][1]:+.3f}] on seed(s) {", ".join(map(str, d["seeds"]))}'


def _by_interval(d: dict, worse: str, better: str, neither: str) -> str:
    """The words for a difference whose interval lies below 0, above 0, or around it."""
    return worse if d['ci'][1] < 0 else better if d['ci'][0] > 0 else neither


def _mask_controls(fm: dict, teacher_test: float) -> list[str]:
    """The fair-controls section of one mask share (experiments.MASK_EXPERIMENTS): arms over seeds, contrasts
    with intervals, a verdict in words, and what is not shown."""
    full = fm['labelled_fraction'] >= 1
    lines: list[str] = []
    done = sum(len(a['seeds']) for a in fm['arms'].values())
    planned = len(fm['arms_planned']) * len(fm['seeds_planned'])
    lines += [
        '',
        f'### With {fm["labelled_fraction"]:.0%} of masks: fair controls '
        + (f'(all {planned} runs)' if done == planned else f'({done} of {planned} runs so far)'),
        '',
        f'Every arm: the same student, {fm["steps"]} steps, and each step a batch of {fm["batch"]} *labelled* '
        'images for cross-entropy (so every arm reads the labels equally often); the arms differ only in '
        'the term added on an ordinary batch of all images: none (supervised), FitNets feature MSE before '
        + (
            'CBAM, or AttnFD (β 0.3); with every mask there is nothing to pseudo-label. '
            if full
            else "CBAM, the teacher's argmax as pseudo-labels, or AttnFD (β 0.3). "
        )
        + 'One teacher for all, retrained for '
        'this experiment (ml/attnlens_ml/experiments.py; test figures from the PyTorch models).'
        + (
            " These runs repeat the zoo's full-mask comparison (`seg-student-attnfd` against `seg-student-plain`, "
            'one seed each, the rows above) over seeds, with batches drawn as in the few-masks arms.'
            if full
            else ''
        ),
        '',
        '| arm | seeds | test mIoU | test defect IoU |',
        '|---|---|---:|---:|',
    ]
    for arm in fm['arms_planned']:
        a = fm['arms'].get(arm)
        if not a:
            lines.append(f'| {arm} | – | not run yet | – |')
            continue
        lines.append(
            f'| {arm} | {", ".join(map(str, a["seeds"]))} | {_mean_spread(a["test_miou"])} | '
            f'{_mean_spread(a["test_defect_iou"])} |'
        )
    rows = [(k, c['miou']) for k, c in fm['contrasts'].items() if c.get('miou')]
    if rows:
        lines += ['', '| contrast | seeds | mIoU difference | 95% interval (test images) |', '|---|---|---:|---|']
        lines += [
            f'| {k.replace("-", " − ")} | {", ".join(map(str, d["seeds"]))} | {d["diff"]:+.3f} | '
            f'[{d["ci"][0]:+.3f}, {d["ci"][1]:+.3f}] |'
            for k, d in rows
        ]
    missing = [a for a in fm['arms_planned'] if a not in fm['arms']]
    own = fm['contrasts'].get('attnfd-fitnets', {}).get('miou')
    alone = fm['contrasts'].get('attnfd-supervised', {}).get('miou')
    share = 'every mask' if full else 'few masks'
    verdict = (
        (
            f'Until the AttnFD arm is in, this does not say whether AttnFD adds anything of its own with {share}.'
            if alone is None
            else f'AttnFD against training alone with {share}: {_contrast(alone)}'
            + _by_interval(
                alone, ' — worse than training alone.', ' — better than training alone.', ' — no difference either way.'
            )
            + ' Without the FitNets arm this does not separate the attention term from plain feature distillation.'
        )
        if own is None
        else "AttnFD's own contribution, beyond plain feature distillation, is the attnfd − fitnets row: "
        + _contrast(own)
        + _by_interval(
            own,
            ' — worse than plain feature distillation.',
            ' — a gain of its own.',
            ' — no difference either way: the attention term does what plain feature distillation does, '
            'and neither beats supervised-only training.',
        )
    )
    shipped = fm.get('shipped')
    ship_text = (
        f' The zoo ships the supervised arm as `{shipped["supervised"]}` and the AttnFD arm as '
        f'`{shipped["attnfd"]}` (seed {shipped["seed"]}): the pair that isolates the AttnFD term at equal labels '
        'and steps.'
        if shipped
        else ''
    )
    short = [
        a for a in fm['arms_planned'] if a in fm['arms'] and len(fm['arms'][a]['seeds']) < len(fm['seeds_planned'])
    ]
    not_shown = ([f'the {", ".join(missing)} arm{"s" if len(missing) > 1 else ""}'] if missing else []) + (
        [
            'the planned '
            + f'{len(fm["seeds_planned"])} seeds for '
            + ', '.join(f'{a} ({len(fm["arms"][a]["seeds"])} so far)' for a in short)
        ]
        if short
        else []
    )
    lines += [
        '',
        verdict
        + ship_text
        + " The seg-teacher the arms learned from was retrained for the experiment with the zoo's recipe; it "
        'is not bit-identical to the shipped `seg-teacher` (test mIoU '
        f'{_f(fm.get("teacher_test_miou"))} against {_f(teacher_test)})'
        + (
            ", so the AttnFD view compares the shipped students' gates with a close sibling of their own teacher."
            if shipped
            else '.'
        ),
        '',
        'Intervals are over test images with each arm averaged over the seeds both arms of a contrast have; '
        'the spread across seeds is in the arm table (mean (min–max)). '
        + ('What this does not show: ' + '; '.join(not_shown) + '.' if not_shown else 'Every planned run is in.'),
    ]
    return lines


def _sak_balance(bal: dict) -> list[str]:
    """The router-balancing experiment (sak_balance.py): arms over seeds, the router's spread, the task's cost."""
    lines = [
        '',
        '### Balancing the router',
        '',
        'The balancing a mixture-of-experts router admits: the importance loss (Shazeer et al. 2017; the squared '
        "coefficient of variation of each path's total weight over a batch, 0 for equal shares, 2 when one of "
        f'three paths takes all), weight {bal["balance"]}, added to the first recipe at its budget. Both arms '
        "distil from the shipped teachers' files and were trained for this experiment (`noise` is the zoo's "
        'first recipe, router noise only); router weights and mIoU on the 400 test images, image labels on the '
        'validation split (PyTorch).',
        '',
        '| arm | seeds | test mIoU | '
        + ' | '.join(f'router: {p}' for p in bal['paths'])
        + ' | images ≥ 95 % on one path | val label accuracy | val labels exact match |',
        '|---|---|---:|' + '---:|' * (len(bal['paths']) + 3),
    ]
    for arm, a in bal['arms'].items():
        lines.append(
            f'| {arm} | {", ".join(map(str, a["seeds"]))} | {_mean_spread(a["test_miou"])} | '
            + ' | '.join(_mean_spread(a['router_mean'][p]) for p in bal['paths'])
            + f' | {_mean_spread(a["collapsed_share"])} | {_mean_spread(a.get("val_label_accuracy") or [None])} | '
            f'{_mean_spread(a.get("val_exact_match") or [None])} |'
        )
    d = bal.get('contrast')
    if d:
        lo, hi = d['ci']
        verdict = _by_interval(d, 'costs segmentation', 'helps segmentation', 'shows no difference in segmentation')
        lines += [
            '',
            f'balanced − noise: {d["diff"]:+.3f} mIoU [{lo:+.3f}, {hi:+.3f}] (95 % paired bootstrap over test images, '
            f'seeds {", ".join(map(str, d["seeds"]))}): balancing {verdict}.',
        ]
    arms = bal['arms']
    if {'noise', 'balanced'} <= set(arms) and all(a.get('val_label_accuracy') for a in arms.values()):
        mean = lambda v: sum(v) / len(v)  # noqa: E731
        acc = {k: mean(arms[k]['val_label_accuracy']) for k in ('noise', 'balanced')}
        exact = {k: mean(arms[k]['val_exact_match']) for k in ('noise', 'balanced')}
        worse = max(arms['balanced']['val_label_accuracy']) < min(arms['noise']['val_label_accuracy'])
        lines += [
            '',
            f'The image labels {"pay for it" if worse else "change"}: per-label accuracy {acc["balanced"]:.3f} '
            f'against {acc["noise"]:.3f}, exact match {exact["balanced"]:.3f} against {exact["noise"]:.3f} '
            '(validation, means over seeds'
            + ('; every balanced seed below every unbalanced one' if worse else '')
            + ').',
        ]
    short = [a for a, v in bal['arms'].items() if len(v['seeds']) < len(bal['seeds_planned'])]
    if short or len(bal['arms']) < 2:
        lines += ['', f'Not all planned runs are in ({len(bal["seeds_planned"])} seeds per arm planned).']
    shipped = bal.get('shipped')
    lines += [
        '',
        (
            f'The zoo ships the {shipped["arm"]} arm of seed {shipped["seed"]} as `sak-student`: the SAK table and '
            "router weights above are that file's, so the SAK view shows a student that uses all three of its "
            'paths; the image labels above are the price. '
            if shipped
            else 'The shipped `sak-student` is the unbalanced recipe. '
        )
        + 'What this does not show: whether a balanced router makes the student better at what each teacher is '
        'good at (the zoo has no task that only the ViT path serves).',
    ]
    return lines


def write_cards(index: dict) -> Path:
    models = {m['id']: m for m in index['models']}
    lines = [
        '# AttnLens model zoo — model cards',
        '',
        f'Generated by `{index["generated_by"]}` at {index["generated_at"]} from the exported ONNX files; '
        f'test split: {index["dataset"]["splits"]["test"]["count"]} synthetic factory scenes '
        f'({index["dataset"]["image_size"]} px). Do not edit by hand.',
        '',
        '## Overview',
        '',
        '| model | task | role | params | file | onnxruntime-node latency | headline (test) |',
        '|---|---|---|---:|---:|---:|---|',
    ]
    for m in index['models']:
        t = m['metrics']['test']
        head = (
            f'mIoU {_f(t["miou"])}'
            if 'miou' in t
            else f'AP {_f(t["ap"])}, AP50 {_f(t["ap50"])}'
            if 'ap' in t
            else f'DINO-mask IoU {_f(t["dino_iou_last_layer"])} (head mean), CST-mask IoU {_f(t["cst_iou"])}'
        )
        lat = m['latency_ms'].get('onnxruntime_node')
        lines.append(
            f'| `{m["id"]}` | {m["task"]} | {m["role"]} | {m["params"]:,} | {m["bytes"] / 1e6:.2f} MB | '
            f'{_f(lat, 2) + " ms" if lat else "–"} | {head} |'
        )
    seg = [m for m in index['models'] if m['task'] == 'segmentation' and 'iou_per_class' in m['metrics']['test']]
    lines += [
        '',
        '## Segmentation: per-class IoU (test split)',
        '',
        '| model | ' + ' | '.join(CLASS_NAMES) + ' | mIoU |',
        '|---|' + '---:|' * (len(CLASS_NAMES) + 1),
    ]
    for m in seg:
        per = m['metrics']['test']['iou_per_class']
        lines.append(
            f'| `{m["id"]}` | '
            + ' | '.join(_f(per[n]) for n in CLASS_NAMES)
            + f' | {_f(m["metrics"]["test"]["miou"])} |'
        )
    exp = index['experiments']
    intervals = exp.get('intervals')
    if intervals:
        first = intervals[0]
        lines += [
            '',
            '## The comparisons, with intervals',
            '',
            f'Each row: model A minus model B on the {first["images"]} test images, with a {first["level"]:.0%} '
            f'paired percentile bootstrap interval ({first["resamples"]:,} resamples of the test images, both '
            'models scored on the same resample; mIoU from the pooled confusion matrix, AP by pycocotools). '
            '**Each model is one training run (seed 0):** the interval says how much the difference depends on '
            'which test images were drawn, not how much it would change with another training seed. An interval '
            'that contains 0 does not show a difference. The few-masks, full-mask AttnFD and detector comparisons '
            'are repeated over training seeds further down (the wide and β 0.1 rows are one seed each).',
            '',
            '| A | B | what A adds | metric | A − B | interval | shows a difference |',
            '|---|---|---|---|---:|---|---|',
        ]
        for c in intervals:
            lo, hi = c['ci']
            verdict = 'yes, A better' if lo > 0 else 'yes, A worse' if hi < 0 else 'no'
            mark = '¹' * (1 + [x for x in intervals if x.get('caveat')].index(c)) if c.get('caveat') else ''
            lines.append(
                f'| `{c["a"]}` | `{c["b"]}`{mark} | {c["what"]} | {c["metric"]} | {c["diff"]:+.3f} | '
                f'[{lo:+.3f}, {hi:+.3f}] | {verdict} |'
            )
        notes = [c for c in intervals if c.get('caveat')]
        if notes:
            lines.append('')
            lines += [f'{"¹" * (i + 1)} {c["caveat"]}' for i, c in enumerate(notes)]
    lines += [
        '',
        '## AttnFD at equal budget',
        '',
        f'Every student: same data order, batch {exp["budget"]["batch"]}, {exp["budget"]["steps"]} optimizer steps. '
        "beta weighs the AttnFD term (sum over the 3 sites of ‖t/‖t‖ − s'/‖s'‖‖², s' = connector(student)). "
        'Every configuration trained is listed (the zoo ships those with a name in the last column). '
        "'anneal': beta decays to 0 on a cosine over training. 'masks': share of the training images whose "
        "masks the student's cross-entropy reads (the teacher was trained on all of them; AttnFD's feature "
        'term needs no masks and reads every image).',
        '',
        '| run | params | beta | schedule | masks | val mIoU | test mIoU | vs plain (same width and masks) '
        '| test defect IoU | shipped as |',
        '|---|---:|---:|---|---:|---:|---:|---:|---:|---|',
    ]
    group = lambda e: (e['params'], e.get('labelled_fraction', 1.0))  # noqa: E731
    plain = {group(e): e['test']['miou'] for e in exp['attnfd_students'] if e['beta'] == 0}
    for e in exp['attnfd_students']:
        delta = e['test']['miou'] - plain[group(e)] if e['beta'] and group(e) in plain else None
        lines.append(
            f'| {e["run"]} | {e["params"]:,} | {e["beta"]} | {e.get("beta_schedule", "constant") if e["beta"] else "–"} | '
            f'{e.get("labelled_fraction", 1.0):.0%} | {_f(e["val_miou"])} | {_f(e["test"]["miou"])} | '
            f'{"–" if delta is None else f"{delta:+.3f}"} | '
            f'{_f(e["test"]["iou_per_class"]["defect"])} | {e["shipped_as"] or "–"} |'
        )
    replaced = [e['run'] for e in exp['attnfd_students'] if e.get('note')]
    if 'seg-teacher' in models:
        lines.append(
            f'| seg-teacher (reference) | {models["seg-teacher"]["params"]:,} | – | – | 100% | {_f(models["seg-teacher"]["training"]["val"]["miou"])} | '
            f'{_f(models["seg-teacher"]["metrics"]["test"]["miou"])} | – | '
            f'{_f(models["seg-teacher"]["metrics"]["test"]["iou_per_class"]["defect"])} | seg-teacher |'
        )
    if replaced:
        lines += [
            '',
            f'{" and ".join(replaced)}: the first few-masks pair, no longer shipped. Its plain run is not a fair '
            'control: its cross-entropy read only the labelled images inside each batch of 16 (1.63 a step on '
            'average; 2,611 labelled presentations against 25,600), while the AttnFD run also read every image '
            'through a teacher trained on all masks, so its +0.296 mixes attention guidance, feature distillation '
            'and labels the plain run never saw. The fair controls below replace it.',
        ]
    for key in ('few_masks_controls', 'full_masks_controls'):
        if fm := exp.get(key):
            lines += _mask_controls(fm, models['seg-teacher']['metrics']['test']['miou'])
    vit = models.get('vit-attn')
    if vit:
        t = vit['metrics']['test']
        lines += [
            '',
            '## ViT attention → pseudo-masks (test split, foreground = any part or defect)',
            '',
            '| mask | IoU with true foreground |',
            '|---|---:|',
            f'| DINO rule, last layer, head mean, mass {t["dino_mass"]} | {_f(t["dino_iou_last_layer"])} |',
            f'| CST rule, last layer cosine, score {t["cst_score"]} (bilinear) | {_f(t["cst_iou"])} |',
            f'| baseline: whole image | {_f(t["baseline_whole_image_iou"])} |',
            f'| baseline: centre disc (r = 0.35·size) | {_f(t["baseline_centre_disc_iou"])} |',
            f'| ceiling: best possible {vit["training"]["config"]["patch"]}-px patch mask | {_f(t["ceiling_patch_iou"])} |',
            f'| DINO rule on an ideal map, flat over every foreground patch | {_f(t["dino_rule_on_flat_foreground_iou"])} |',
            f"| DINO rule on an ideal map, each patch's foreground fraction | {_f(t['dino_rule_on_fraction_map_iou'])} |",
            '',
            'DINO-rule IoU per layer (head mean): '
            + ', '.join(f'L{i}: {_f(v)}' for i, v in enumerate(t['dino_iou_per_layer'])),
            '',
            f'Share of ceiling reached by the DINO-rule mask: '
            f'{100 * t["dino_iou_last_layer"] / t["ceiling_patch_iou"]:.0f} %. The two ideal maps show what '
            f'the rule itself allows: keeping {t["dino_mass"]:.0%} of a map that is flat over the true '
            f'foreground keeps only that share of its patches '
            f'({100 * t["dino_rule_on_flat_foreground_iou"] / t["ceiling_patch_iou"]:.0f} % of the ceiling), '
            f'so reaching 60 % of the ceiling needs attention that is near-perfect *and* graded by how much '
            f'of each patch is part.',
            '',
        ]
        heads = t.get('dino_last_layer_heads')
        if heads:
            lines += [
                '### How the heads become one mask: the figure depends on it',
                '',
                f"The headline above applies DINO's {t['dino_mass']:.0%}-mass rule to the **mean of the "
                f"{len(heads['per_head'])} heads' maps** (this model's convention, and the map the app's ViT view "
                'cuts its masks from; its head maps are shown beside it). The same last layer under the other '
                'conventions in use:',
                '',
                '| convention | IoU |',
                '|---|---:|',
                f'| head mean, then the rule (headline) | {_f(heads["head_mean"])} |',
                f'| each head alone, averaged over heads | {_f(heads["mean_of_heads"])} |',
                '| each head alone: '
                + ', '.join(f'head {i} {_f(v)}' for i, v in enumerate(heads['per_head']))
                + ' | – |',
                f"| union of the heads' masks | {_f(heads['union_of_heads'])} |",
                f'| best head per image, against its foreground (picked with the ground truth) | '
                f'{_f(heads["best_head_per_image"])} |',
                f"| best head per object, against that object's mask (DINO's reading; picked with the ground "
                f'truth; {heads["objects"]:,} objects) | {_f(heads["best_head_per_object"])} |',
                '',
                'No head alone comes near the mean: each covers a different share of the parts, and the mean '
                'combines them. The two "best head" rows choose the head with the answer, so they are upper '
                'bounds for a user who must pick a head without ground truth.',
                '',
            ]
        lines += [
            'ViT configurations tried (same budget; validation split, 100 images; the better one ships):',
            '',
            '| run | train split | count loss | steps | val DINO IoU (last layer) | val CST IoU | shipped |',
            '|---|---|---:|---:|---:|---:|---|',
        ]
        for e in exp.get('vit', []):
            lines.append(
                f'| {e["run"]} | {e["train_split"]} | {e.get("count_weight", 0.0)} | {e["steps"]} | '
                f'{_f(e["val"]["dino_iou_last_layer_head_mean"])} | {_f(e["val"]["cst_iou_bilinear"])} | '
                f'{e["shipped_as"] or "–"} |'
            )
    det = exp.get('detectors')
    if det:
        lines += [
            '',
            '## Detectors: COCO box AP on the test split (pycocotools, IoU 0.50:0.95)',
            '',
            'Same data order, batch and optimizer steps for every detector. The one-to-one student is the '
            'baseline for both hybrid matching (same network without the one-to-many block) and KS-DETR '
            '(same network without the knowledge-sharing stream).',
            '',
            '| model | AP | AP50 | AP75 | AP small | one-to-many block AP / AP50 | steps | recommended score '
            'threshold (val F1 · precision · recall at IoU 0.5) |',
            '|---|---:|---:|---:|---:|---:|---:|---|',
        ]
        for mid, d in det.items():
            t = d['test']
            o2m = d.get('test_one_to_many_block')
            th = models.get(mid, {}).get('score_threshold')
            lines.append(
                f'| `{mid}` | {_f(t["ap"])} | {_f(t["ap50"])} | {_f(t["ap75"])} | {_f(t["ap_small"])} | '
                f'{(_f(o2m["ap"]) + " / " + _f(o2m["ap50"])) if o2m else "–"} | {d["steps"]} | '
                + (
                    f'{th["value"]:.2f} ({_f(th["val_f1"])} · {_f(th["precision"])} · {_f(th["recall"])})'
                    if th
                    else '–'
                )
                + ' |'
            )
        if any(models.get(mid, {}).get('score_threshold') for mid in det):
            lines += [
                '',
                'The recommended threshold maximises F1 on the validation split (ml/attnlens_ml/thresholds.py, '
                "the app's own decoding and matching); it is written into each detector's contract, and the app "
                'opens every detector at it.',
            ]
        found = {mid: models[mid]['found_at_threshold'] for mid in det if models.get(mid, {}).get('found_at_threshold')}
        if found:
            lines += _found_per_class(found)
        teacher = exp.get('detector_teacher')
        if teacher:
            lines += _detector_teacher(teacher, models['detr-teacher'], exp.get('detector_seeds'))
    seeds = exp.get('detector_seeds')
    if seeds:
        lines += _detector_seeds(seeds)
    sak = exp.get('sak')
    if sak:
        sm = models['sak-student']['metrics']['test']
        lines += [
            '',
            '## SAK: one student, two teachers (test split)',
            '',
            '| model | seg mIoU | image labels exact match | per-label accuracy |',
            '|---|---:|---:|---:|',
            f'| `sak-student` | {_f(sm["miou"])} | {_f(sak["labels"]["sak-student"]["exact_match"])} | '
            f'{_f(sak["labels"]["sak-student"]["label_accuracy"])} |',
            f'| `seg-teacher` | {_f(models["seg-teacher"]["metrics"]["test"]["miou"])} | – | – |',
            f'| `vit-attn` | – | {_f(sak["labels"]["vit-attn"]["exact_match"])} | '
            f'{_f(sak["labels"]["vit-attn"]["label_accuracy"])} |',
            '',
            'Router weights [' + ', '.join(sak['paths']) + '], mean over test images containing each class:',
            '',
            '| images with | ' + ' | '.join(sak['paths']) + ' |',
            '|---|' + '---:|' * len(sak['paths']),
        ]
        for cls, w in sak['router_mean_per_image_class'].items():
            lines.append(f'| {cls} | ' + ' | '.join(_f(v) for v in w) + ' |')
        lines.append('| all | ' + ' | '.join(_f(v) for v in sak['router_mean']) + ' |')
        top = max(range(len(sak['paths'])), key=lambda i: sak['router_mean'][i])
        share = sak['router_mean'][top] / sum(sak['router_mean'])
        if share >= ROUTER_COLLAPSE_SHARE:
            lines += [
                '',
                f'**The router has collapsed** onto the `{sak["paths"][top]}` path: {share:.1%} of its weight on '
                f"average, on images of every class (at or above {ROUTER_COLLAPSE_SHARE:.0%} the app's SAK view "
                f'says so too). The other paths barely shape the output, so this student is in effect distilled '
                f'from {sak["paths"][top]} alone: this card does not show what several teachers add. Router noise '
                f'(σ = 1) during training did not prevent it.',
            ]
    if bal := exp.get('sak_balance'):
        lines += _sak_balance(bal)
    lines += [
        '',
        '## Reproduce',
        '',
        '```',
        'npm run zoo    # = node scripts/setup.mjs --python && cd ml && .venv/bin/python -m attnlens_ml.pipeline',
        '```',
        '',
    ]
    path = ROOT / 'docs' / 'model-cards.md'
    path.write_text('\n'.join(lines))
    return path
