"""Hungarian matching for DETR training: the assignment solver and DETR's matching cost, pure numpy/torch.

`linear_assignment` is the shortest-augmenting-path Hungarian algorithm (O(n²m), vectorised over columns);
tests check it against scipy.optimize.linear_sum_assignment and brute force.
"""

from __future__ import annotations

import numpy as np
import torch


def linear_assignment(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-cost matching of a rectangular matrix; returns (rows, cols) sorted by row, like scipy."""
    cost = np.asarray(cost, dtype=np.float64)
    if cost.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    transposed = cost.shape[0] > cost.shape[1]
    if transposed:
        cost = cost.T
    n, m = cost.shape
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    p = np.zeros(m + 1, np.int64)  # p[j]: row (1-based) matched to column j; 0 = free; column 0 is virtual
    way = np.zeros(m + 1, np.int64)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            free = ~used[1:]
            cur = cost[i0 - 1] - u[i0] - v[1:]
            better = free & (cur < minv[1:])
            minv[1:][better] = cur[better]
            way[1:][better] = j0
            masked = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(masked)) + 1
            delta = masked[j1 - 1]
            cols = np.flatnonzero(used)
            u[p[cols]] += delta
            v[cols] -= delta
            minv[1:][free] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    cols = np.flatnonzero(p[1:]) + 1
    rows = p[cols] - 1
    cols = cols - 1
    if transposed:
        rows, cols = cols, rows
    order = np.argsort(rows)
    return rows[order].astype(np.int64), cols[order].astype(np.int64)


def box_cxcywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = b.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)


def generalized_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise GIoU of xyxy boxes [N,4] × [M,4] → [N,M]."""
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    iou = inter / union.clamp(min=1e-7)
    lt_c = torch.min(a[:, None, :2], b[None, :, :2])
    rb_c = torch.max(a[:, None, 2:], b[None, :, 2:])
    hull = (rb_c - lt_c).clamp(min=0).prod(-1)
    return iou - (hull - union) / hull.clamp(min=1e-7)


def matching_cost(
    logits: torch.Tensor,
    boxes: torch.Tensor,
    gt_classes: torch.Tensor,
    gt_boxes: torch.Tensor,
    w_class: float = 2.0,
    w_l1: float = 5.0,
    w_giou: float = 2.0,
    alpha: float = 0.25,
    gamma: float = 2.0,
) -> torch.Tensor:
    """Deformable/H-DETR cost [Q, G]: focal class cost, L1 on (cx,cy,w,h), −GIoU (methods.md §3)."""
    p = logits.sigmoid()[:, gt_classes]
    neg = (1 - alpha) * p.pow(gamma) * -(1 - p + 1e-8).log()
    pos = alpha * (1 - p).pow(gamma) * -(p + 1e-8).log()
    c_class = pos - neg
    c_l1 = torch.cdist(boxes, gt_boxes, p=1)
    c_giou = -generalized_iou(box_cxcywh_to_xyxy(boxes), box_cxcywh_to_xyxy(gt_boxes))
    return w_class * c_class + w_l1 * c_l1 + w_giou * c_giou


@torch.no_grad()
def hungarian_match(logits, boxes, gt_classes, gt_boxes, repeat: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """(query indices, ground-truth indices). repeat=K matches the ground truth repeated K times (one-to-many)."""
    if len(gt_classes) == 0:
        e = torch.zeros(0, dtype=torch.long)
        return e, e
    cost = matching_cost(logits, boxes, gt_classes.repeat(repeat), gt_boxes.repeat(repeat, 1))
    q, g = linear_assignment(cost.cpu().numpy())
    return torch.as_tensor(q), torch.as_tensor(g % len(gt_classes))
