#!/usr/bin/env bash
# Thumbnails end to end: generates photos with ImageMagick (plus one corrupt file), scans
# them into a batch (phase 1 reads size, mtime, dimensions, EXIF), lets the worker run
# /usr/bin/convert for each (phase 2), then checks every photo but the corrupt one has a
# thumbnail and the corrupt one FAILED.
#
#   examples/thumbnails/run.sh [PHOTOS]      (default 24; WORK=dir keeps the files there)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

PHOTOS="${1:-24}"
WORK="${WORK:-$(mktemp -d -t procq-thumbnails.XXXXXX)}"
mkdir -p "$WORK"
[ -x /usr/bin/convert ] || die "needs ImageMagick's /usr/bin/convert: apt-get install -y imagemagick"
ensure_jar
trap stop_started EXIT

# A minimal EXIF block as a camera writes it: Orientation 6 (camera turned right) and
# DateTimeOriginal 2024:06:01 12:34:56 +02:00. Big-endian TIFF: header, IFD0 {Orientation,
# pointer to the Exif IFD at 38}, Exif IFD {DateTimeOriginal at 68, OffsetTimeOriginal at 88}.
exif_block() {
  printf 'Exif\0\0MM\0\x2a\0\0\0\x08'
  printf '\0\x02\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\x87\x69\0\x04\0\0\0\x01\0\0\0\x26\0\0\0\0'
  printf '\0\x02\x90\x03\0\x02\0\0\0\x14\0\0\0\x44\x90\x11\0\x02\0\0\0\x07\0\0\0\x58\0\0\0\0'
  printf '2024:06:01 12:34:56\0+02:00\0'
}

log "generating $PHOTOS photos in $WORK/photos"
rm -rf "$WORK/photos" "$WORK/thumbs"
mkdir -p "$WORK/photos"
exif_block >"$WORK/camera.app1"
for i in $(seq 1 "$PHOTOS"); do
  dir="$WORK/photos/$((2020 + i % 4))/album-$((i % 3))"
  mkdir -p "$dir"
  size="$((320 + i * 40))x$((240 + i * 20))"
  if [ $((i % 4)) -eq 0 ]; then
    # "shot" with the camera turned: EXIF orientation 6, which -auto-orient honours
    /usr/bin/convert -size "$size" plasma:fractal -profile "$WORK/camera.app1" -quality 85 "$dir/photo $i.jpg"
  else
    /usr/bin/convert -size "$size" gradient:"#$(printf '%06x' $((i * 654321 % 16777216)))"-white -quality 85 "$dir/photo $i.jpg"
  fi
done
head -c 5000 /dev/urandom >"$WORK/photos/2021/corrupt.jpg"
echo "not a photo" >"$WORK/photos/2021/notes.txt"

export PROCQ_JOB_TYPES="$REPO/examples/thumbnails/jobtypes.yaml"
export PROCQ_SCAN_ROOTS="photos=$WORK/photos"
export PROCQ_WORKER_CONCURRENCY="${PROCQ_WORKER_CONCURRENCY:-4}"
export THUMBNAIL_DIR="$WORK/thumbs"
start_procq "$WORK"

log "POST /api/v1/batches: scan photos:**/*.jpg"
started=$(date +%s%N)
receipt="$(curl -fsS -X POST -H 'Content-Type: application/json' "$PROCQ_URL/api/v1/batches" \
  -d '{"type": "thumbnail", "scan": {"root": "photos", "glob": "**/*.jpg"}, "priority": 0}')"
printf '%s\n' "$receipt"
id="$(json_value "$receipt" id)"

log "meta of the first job, recorded in phase 1:"
curl -fsS "$PROCQ_URL/api/v1/batches/$id/jobs?limit=1" | sed 's/.*"meta":\({[^}]*}\).*/   \1/'
echo

batch="$(await_batch "$id")"
log "scan and thumbnails done $(( ($(date +%s%N) - started) / 1000000 )) ms after the POST"

ok="$(json_value "$batch" OK)"; failed="$(json_value "$batch" FAILED)"
thumbs="$(find "$WORK/thumbs" -type f -name '*.jpg' | wc -l)"
log "OK $ok, FAILED $failed, thumbnails on disk $thumbs"
failed_id="$(json_value "$(curl -fsS "$PROCQ_URL/api/v1/batches/$id/jobs?state=FAILED")" id)"
failed_job="$(curl -fsS "$PROCQ_URL/api/v1/jobs/$failed_id")"
log "the FAILED job $failed_id: $(json_value "$failed_job" target)"
printf '   error: %s\n   meta.error: %s\n   output: %s\n' "$(json_value "$failed_job" error)" \
  "$(printf '%s' "$failed_job" | sed -n 's/.*"meta":{[^}]*"error":"\([^"]*\)".*/\1/p')" \
  "$(printf '%s' "$failed_job" | sed -n 's/.*"outputTail":"\([^"]*\)".*/\1/p' | sed 's/\\n/\n           /g')"
example="$(find "$WORK/thumbs" -type f -name 'photo 4.jpg' | head -n 1)"
[ -n "$example" ] && log "turned photo 4 ($(/usr/bin/identify -format '%wx%h' "$(find "$WORK/photos" -name 'photo 4.jpg')") with EXIF orientation 6) -> thumbnail $(/usr/bin/identify -format '%wx%h' "$example")"

[ "$ok" = "$PHOTOS" ] && [ "$failed" = 1 ] && [ "$thumbs" = "$PHOTOS" ] || die "expected OK $PHOTOS, FAILED 1, $PHOTOS thumbnails"
log "all $PHOTOS photos have a thumbnail in $WORK/thumbs; the corrupt file FAILED"
