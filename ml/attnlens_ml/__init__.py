"""AttnLens model zoo: data generator, models, training, export kit, contract (see ml/README.md)."""

import os

# Measured here (2 cores): OpenBLAS worker threads spinning in sched_yield next to PyTorch's own threads made
# training 2-3x slower, with more system than user time. PyTorch parallelises itself; keep OpenBLAS serial.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
