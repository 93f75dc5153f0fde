# shellcheck shell=bash
# When Slurm would start the job whose batch script is on stdin: `sbatch --test-only` (nothing is
# submitted, nothing is written), with the cluster's clock beside it (Slurm prints its local time).
echo "@@NOW $(date +%s) $(date +%z)"
sbatch --test-only 2>&1
echo "@@RC $?"
