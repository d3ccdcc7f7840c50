//! `claimwatch devices`: the audio input devices `device:ID` can capture from, one per line:
//! the id to use, the default input rate and channels, and the name; `*` marks the default.

use std::process::ExitCode;

use crate::source::{list_devices, DeviceInfo};

#[derive(Debug, clap::Args)]
pub struct DevicesArgs {}

pub fn run(_args: DevicesArgs) -> anyhow::Result<ExitCode> {
    let devices = list_devices()?;
    print!("{}", render(&devices));
    Ok(ExitCode::SUCCESS)
}

/// The listing as printed; "no devices" is a normal answer on a server, so it is a line, not an
/// error.
fn render(devices: &[DeviceInfo]) -> String {
    if devices.is_empty() {
        return "no audio input devices found (no sound card, or no audio server reachable); \
                use an http(s), HLS, file or stdin source instead\n"
            .to_string();
    }
    let id = |d: &DeviceInfo| d.id.clone().unwrap_or_else(|| d.name.clone());
    let width = devices.iter().map(|d| id(d).len()).max().unwrap_or(0);
    let mut out = String::new();
    for d in devices {
        let rate = d
            .default_rate
            .map_or("?".to_string(), |r| format!("{r} Hz"));
        let channels = d
            .default_channels
            .map_or("?".to_string(), |c| format!("{c} ch"));
        let mark = if d.is_default { '*' } else { ' ' };
        let line = format!(
            "{mark} {:width$}  {rate:>9}  {channels:>4}  {}",
            id(d),
            d.name
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_default_mark_and_unknown_config() {
        let devices = [
            DeviceInfo {
                id: Some("default".into()),
                name: "Default ALSA Output".into(),
                default_rate: Some(48_000),
                default_channels: Some(2),
                is_default: true,
            },
            DeviceInfo {
                id: None,
                name: "hw:CARD=USB,DEV=0".into(),
                default_rate: None,
                default_channels: None,
                is_default: false,
            },
        ];
        assert_eq!(
            render(&devices),
            "* default             48000 Hz  2 ch  Default ALSA Output\n  \
             hw:CARD=USB,DEV=0          ?     ?  hw:CARD=USB,DEV=0\n"
        );
        assert!(render(&[]).starts_with("no audio input devices found"));
    }
}
