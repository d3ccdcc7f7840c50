//! Audio input: decode any container symphonia reads, downmix, resample to 16 kHz mono f32.
