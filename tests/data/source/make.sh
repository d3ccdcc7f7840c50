#!/bin/sh
# Regenerates the HLS segment fixtures of tests/source/ from the bundled samples (needs ffmpeg;
# run from this folder). Users never need ffmpeg: these files are committed.
set -eu
rm -rf adts fmp4
mkdir -p adts fmp4
# ADTS AAC cut at ~2 s frame boundaries, as a live packager's .aac segments.
ffmpeg -v error -i ../../../samples/formats/en_greeting.aac -c copy -f segment -segment_time 2 adts/seg%d.aac
# fMP4 (CMAF) HLS: one init segment (EXT-X-MAP) and .m4s fragments.
ffmpeg -v error -i ../../../samples/en_greeting.wav -c:a aac -b:a 48k -f hls -hls_time 2 \
    -hls_segment_type fmp4 -hls_playlist_type vod -hls_fmp4_init_filename init.mp4 \
    -hls_segment_filename 'fmp4/seg%d.m4s' fmp4/index.m3u8
# A claim through `serve` over HLS (tests/live/sources.rs): en_origin_false as ~2 s ADTS segments.
rm -rf claim
mkdir -p claim
ffmpeg -v error -i ../../../samples/en_origin_false.wav -c:a aac -b:a 48k -f segment -segment_time 2 \
    -segment_format adts claim/seg%d.aac
