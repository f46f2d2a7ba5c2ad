"""python -m wavenet_edge.train ... is wn-train; torchrun needs a module to run:

    torchrun --nproc-per-node 2 -m wavenet_edge.train --data names --threads 1
"""

from .cli import main

main()
