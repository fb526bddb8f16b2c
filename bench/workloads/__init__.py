"""Every timed workload of shared/BENCHMARKS.md, in table order. (The fresh-process rows,
first call and peak memory, reuse `HAVERSINE` and `CHAIN`: see `bench.fresh`.)"""

from bench.workloads.diffusion import DIFFUSION
from bench.workloads.elementwise import CHAIN, CHAIN_OUT, DISPATCH, HAVERSINE, ROSENBROCK
from bench.workloads.mlp import MLP_GRAD
from bench.workloads.rnn import RNN_FORWARD, RNN_GRAD

WORKLOADS = (HAVERSINE, CHAIN, CHAIN_OUT, ROSENBROCK, DIFFUSION, MLP_GRAD, RNN_FORWARD,
             RNN_GRAD, DISPATCH)
BY_NAME = {w.name: w for w in WORKLOADS}

__all__ = ["BY_NAME", "WORKLOADS"]
