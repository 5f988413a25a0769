"""The controller: observes agents and their children, plans with the pure core, and writes the
difference.

- plan.py: the pure planner (observation in, writes out);
- observe.py and reconciler.py: the reads and writes, through agent_operator.kube;
- handlers.py: kopf registration; run.py: starting the operator.
"""
