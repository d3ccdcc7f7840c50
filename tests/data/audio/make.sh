#!/usr/bin/env bash
# Regenerates the audio fixtures used by tests/audio/*.rs. Needs ffmpeg and espeak-ng.
#
# Every tone is a sine of known frequency and amplitude so tests can check the decoded signal
# (dominant frequency, RMS), not just that decoding "worked". Files are short to keep the
# directory well under 1 MB. Run from anywhere: `tests/data/audio/make.sh`.
set -euo pipefail
cd "$(dirname "$0")"

ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
# tone FREQ AMP RATE SECONDS [CHANNEL_EXPRS...]: an aevalsrc graph; default is one channel.
tone() {
  local f=$1 a=$2 r=$3 d=$4
  shift 4
  local expr="$a*sin(2*PI*$f*t)"
  if [ $# -gt 0 ]; then expr=$(IFS='|'; echo "$*"); fi
  echo "aevalsrc=exprs=${expr}:s=${r}:d=${d}"
}
S="0.5*sin(2*PI*440*t)"
# -bitexact keeps encoder version strings out so regenerated files diff cleanly.
BX=(-fflags +bitexact -flags:a +bitexact)

# WAV, one per sample format, at assorted rates.
ff -f lavfi -i "$(tone 440 0.5 8000 1)"  "${BX[@]}" -c:a pcm_u8    wav_u8_8k.wav
ff -f lavfi -i "$(tone 440 0.5 16000 1)" "${BX[@]}" -c:a pcm_s16le wav_s16_16k.wav
ff -f lavfi -i "$(tone 440 0.5 44100 0.5)" "${BX[@]}" -c:a pcm_s24le wav_s24_44k.wav
ff -f lavfi -i "$(tone 440 0.5 22050 0.5)" "${BX[@]}" -c:a pcm_s32le wav_s32_22k.wav
ff -f lavfi -i "$(tone 440 0.5 48000 0.25)" "${BX[@]}" -c:a pcm_f32le wav_f32_48k.wav
# An odd rate no FFT block size divides nicely: exercises the sinc fallback resampler.
ff -f lavfi -i "$(tone 440 0.5 11111 1)" "${BX[@]}" -c:a pcm_s16le wav_s16_11111.wav
# 1 kHz tone at 44.1 kHz: resampled frequency and length must be exact.
ff -f lavfi -i "$(tone 1000 0.5 44100 1)" "${BX[@]}" -c:a flac flac_1k_44k.flac

# Channel layouts: L=tone R=silence (downmix halves it); 6 channels, tone only in the first.
ff -f lavfi -i "$(tone 440 0 44100 0.5 "$S" 0)" "${BX[@]}" -c:a flac stereo_left_44k.flac
ff -f lavfi -i "$(tone 440 0 48000 0.5 "$S" 0 0 0 0 0)" "${BX[@]}" -c:a flac six_ch_48k.flac

# Lossless and lossy codecs.
ff -f lavfi -i "$(tone 440 0.5 96000 0.25)" "${BX[@]}" -c:a flac flac_96k.flac
ff -f lavfi -i "$(tone 440 0.5 44100 1)" "${BX[@]}" -c:a libmp3lame -b:a 64k mp3_44k.mp3
ff -f lavfi -i "$(tone 440 0.5 44100 1 "$S" "$S")" "${BX[@]}" -c:a libvorbis -q:a 2 ogg_stereo_44k.ogg
ff -f lavfi -i "$(tone 440 0.5 48000 1)" "${BX[@]}" -c:a aac -b:a 128k -f adts aac_48k.aac
ff -f lavfi -i "$(tone 440 0.5 44100 1)" "${BX[@]}" -c:a aac -b:a 128k m4a_44k.m4a

# Video containers: audio next to (after) a video track; and one with no audio at all.
ff -f lavfi -i "testsrc=size=64x48:rate=10:duration=1" -f lavfi -i "$(tone 440 0.5 48000 1)" \
  "${BX[@]}" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 128k -shortest video_with_audio.mp4
ff -f lavfi -i "testsrc=size=64x48:rate=10:duration=1" -f lavfi -i "$(tone 440 0.5 48000 1)" \
  "${BX[@]}" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 128k -shortest video_with_audio.mov
ff -f lavfi -i "testsrc=size=64x48:rate=10:duration=1" -an \
  "${BX[@]}" -c:v libx264 -preset ultrafast -pix_fmt yuv420p video_no_audio.mp4

# Real speech, for a content check that is not a pure tone.
espeak-ng -v en -s 160 -w speech_22k.wav "Hello, this product is made in Japan."

# Bad input.
: > empty.wav
printf 'this is a text file, not audio\n%.0s' {1..20} > text_renamed.wav
# Fixed seed so the "random" bytes are stable across regenerations.
ff -f lavfi -i "anoisesrc=d=0.512:c=white:r=8000:seed=42" -f u8 random_bytes.bin
head -c 6000 mp3_44k.mp3 > truncated.mp3
head -c 20000 flac_1k_44k.flac > truncated.flac
head -c 20000 wav_s24_44k.wav > truncated.wav

du -ch -- * | tail -1
