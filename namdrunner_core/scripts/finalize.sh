# shellcheck shell=bash
# After jobs ended: copy scratch -> project (verified by a manifest), send back the Slurm logs, the
# exit file, the output listing and the log's last lines, for many jobs in ONE command.
# Per job, 8 args: id project scratch slurm_out slurm_err alt_out alt_err log_offset (alt: the
# desktop app's names for the same logs, <job_name>_<slurm id>.out/.err).
while [ $# -ge 8 ]; do
  id=$1; project=$2; scratch=$3; out=$4; err=$5; alt_out=$6; alt_err=$7; off=$8; shift 8
  echo "@@JOB $id"
  if [ -d "$scratch" ]; then
    # job_info.json stays out: the project copy is the current one (the desktop app's bug).
    errf=$(mktemp)
    rsync -a --exclude=job_info.json -- "$scratch/" "$project/" 2> "$errf"
    rc=$?
    echo "@@RSYNC $rc $(tail -c 300 -- "$errf" | tr '\n\t' '  ')"
    rm -f -- "$errf"
    if [ "$rc" = 0 ]; then
      # Verified copy-back: a manifest of every file on scratch (name and sha256, so size too), checked
      # against the project copy, both here on the cluster. Only a full match makes the results safe
      # from the purge (an unreadable scratch file fails the manifest, a missing or different copy the check).
      # Both sides hashed with the same tool over the same sorted list of scratch's files (OpenSSL
      # when the cluster has it: 4x coreutils' speed on a 20 GB trajectory), the two lists compared.
      list=$(mktemp); man=$(mktemp); theirs=$(mktemp)
      verified=no
      if (cd -- "$scratch" && find . -type f ! -name job_info.json -print0 | LC_ALL=C sort -z) > "$list" \
         && (cd -- "$scratch" && hash_list < "$list") > "$man"; then
        same() { (cd -- "$project" && hash_list < "$list") > "$theirs" 2>/dev/null && cmp -s -- "$man" "$theirs"; }
        if [ ! -s "$list" ] || same; then
          verified=yes
        # rsync's quick check (size and mtime) skips a file rewritten within the same second at the
        # same size (a rerun): copy again comparing contents, then check again.
        elif rsync -a --checksum --exclude=job_info.json -- "$scratch/" "$project/" 2>/dev/null && same; then
          verified=yes
        fi
      fi
      if [ "$verified" = yes ]; then echo "@@VERIFY ok"; else echo "@@VERIFY mismatch"; fi
      rm -f -- "$list" "$man" "$theirs"
    fi
  else
    echo "@@RSYNC missing"
  fi
  for pair in "$out/$alt_out" "$err/$alt_err" ".namdrunner_exit/.namdrunner_exit"; do
    f=${pair%%/*}; alt=${pair#*/}
    echo "@@FILE $f"
    if [ -f "$project/$f" ]; then tail -c 65536 -- "$project/$f" | base64 -w 0
    elif [ -f "$project/$alt" ]; then tail -c 65536 -- "$project/$alt" | base64 -w 0; fi
    echo
  done
  echo "@@LIST"
  (cd -- "$project" 2>/dev/null && find . -path ./input_files -prune -o -type f ! -name '.nr*' ! -name '.namdrunner*' \
     -printf '%P\t%s\t%TY-%Tm-%TdT%TH:%TM:%.2TSZ\n')
  echo "@@ENDLIST"
  log_section "$id" "$project/namd_output.log" "$off"
done
