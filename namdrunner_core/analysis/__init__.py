"""Is it equilibrated? Series from what NAMD writes (:mod:`.series`), statistics a reviewer would accept
(:mod:`.stats`), one answer per run (:func:`analyze_log`). numpy only; structure series (RMSD from a
DCD) need MDAnalysis, the optional ``namdrunner[analysis]`` extra."""
