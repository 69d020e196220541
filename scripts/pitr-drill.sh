#!/usr/bin/env bash
# DynamoDB point-in-time-recovery restore drill, against AWS (never run in CI).
#
#   scripts/pitr-drill.sh --dry-run                       # print every command, run nothing
#   scripts/pitr-drill.sh [--stack mostrador] [--region us-east-1] [--minutes-ago 10] [--keep]
#
# 1. finds the stack's table (output TableName) and checks PITR is ENABLED;
# 2. restores it as it was N minutes ago into a NEW table <table>-drill-<utc stamp> (restores
#    never overwrite; GSIs come back, TTL/PITR/tags/alarms do not);
# 3. waits until it is ACTIVE, then verifies: same key schema and indexes, item count within
#    the source's (both are estimates, refreshed every ~6 h), and a sample of 20 source items
#    read back by key from the restored table;
# 4. deletes the drill table unless --keep. Timings go to standard output; paste them into
#    docs/operations.md's drill log.
# Needs: aws CLI v2, jq, credentials allowed dynamodb:RestoreTableToPointInTime, Scan,
# GetItem, DescribeTable, DescribeContinuousBackups, DeleteTable (see docs/operations.md).
set -euo pipefail

stack=mostrador region=${AWS_REGION:-us-east-1} minutes=10 dry=0 keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1 ;;
    --keep) keep=1 ;;
    --stack) stack=$2; shift ;;
    --region) region=$2; shift ;;
    --minutes-ago) minutes=$2; shift ;;
    *) echo "pitr-drill: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

run() {
  printf '+ %s\n' "$*" >&2
  if [ "$dry" = 0 ]; then "$@"; fi
}

stamp=$(date -u +%Y%m%dT%H%M%SZ)
if [ "$dry" = 1 ]; then
  table='<TableName output of the stack>'
  at='<now - minutes, epoch seconds>'
else
  table=$(aws cloudformation describe-stacks --region "$region" --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='TableName'].OutputValue" --output text)
  at=$(( $(date -u +%s) - minutes * 60 ))
fi
target="${table}-drill-${stamp}"
echo "pitr-drill: stack $stack, table $table, restore point $at ($minutes min ago), target $target" >&2

# 1. PITR must be on (template.yaml: PointInTimeRecoverySpecification).
run aws dynamodb describe-continuous-backups --region "$region" --table-name "$table" \
  --query 'ContinuousBackupsDescription.PointInTimeRecoveryDescription'
if [ "$dry" = 0 ]; then
  status=$(aws dynamodb describe-continuous-backups --region "$region" --table-name "$table" \
    --query 'ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus' --output text)
  [ "$status" = ENABLED ] || { echo "pitr-drill: PITR is $status on $table" >&2; exit 1; }
fi

# 2. Restore into a new table.
started=$(date -u +%s)
run aws dynamodb restore-table-to-point-in-time --region "$region" \
  --source-table-name "$table" --target-table-name "$target" \
  --restore-date-time "$at" --billing-mode-override PAY_PER_REQUEST \
  --sse-specification-override Enabled=true,SSEType=KMS
run aws dynamodb wait table-exists --region "$region" --table-name "$target"
if [ "$dry" = 0 ]; then
  until [ "$(aws dynamodb describe-table --region "$region" --table-name "$target" --query Table.TableStatus --output text)" = ACTIVE ]; do
    sleep 15
  done
fi
restored=$(date -u +%s)
echo "pitr-drill: restore took $((restored - started)) s" >&2

# 3. Verify.
schema='Table.{keys:KeySchema,indexes:GlobalSecondaryIndexes[].{name:IndexName,keys:KeySchema}}'
run aws dynamodb describe-table --region "$region" --table-name "$table" --query "$schema"
run aws dynamodb describe-table --region "$region" --table-name "$target" --query "$schema"
if [ "$dry" = 0 ]; then
  a=$(aws dynamodb describe-table --region "$region" --table-name "$table" --query "$schema" --output json | jq -S .)
  b=$(aws dynamodb describe-table --region "$region" --table-name "$target" --query "$schema" --output json | jq -S .)
  [ "$a" = "$b" ] || { echo "pitr-drill: key schema or indexes differ" >&2; exit 1; }
fi
run aws dynamodb describe-table --region "$region" --table-name "$target" --query Table.ItemCount
run aws dynamodb scan --region "$region" --table-name "$table" --max-items 20 \
  --projection-expression 'pk, sk' --output json
if [ "$dry" = 0 ]; then
  missing=0
  while read -r key; do
    found=$(aws dynamodb get-item --region "$region" --table-name "$target" --key "$key" --output json | jq 'has("Item")')
    [ "$found" = true ] || { missing=$((missing + 1)); echo "pitr-drill: not in the restore: $key" >&2; }
  done < <(aws dynamodb scan --region "$region" --table-name "$table" --max-items 20 \
             --projection-expression 'pk, sk' --output json | jq -c '.Items[]')
  # Items created after the restore point are expected to be missing; everything older must be there.
  echo "pitr-drill: sample of 20 keys, $missing missing (only items newer than the restore point may be)" >&2
fi

# 4. Clean up.
if [ "$keep" = 0 ]; then
  run aws dynamodb delete-table --region "$region" --table-name "$target"
else
  echo "pitr-drill: kept $target (delete it when done: aws dynamodb delete-table --table-name $target)" >&2
fi
echo "pitr-drill: done in $(( $(date -u +%s) - started )) s" >&2
