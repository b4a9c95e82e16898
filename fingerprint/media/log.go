package media

import (
	"context"
	"log/slog"
	"strings"

	"github.com/asticode/go-astiav"
)

// RouteLogs sends FFmpeg's log lines at or above level to logger. FFmpeg's
// log callback is process-wide: only the program's main (cmd/cueprint)
// calls this, once.
func RouteLogs(logger *slog.Logger, level slog.Level) {
	astiav.SetLogLevel(ffmpegLevel(level))
	astiav.SetLogCallback(func(c astiav.Classer, l astiav.LogLevel, _, msg string) {
		msg = strings.TrimSpace(msg)
		if msg == "" {
			return
		}
		attrs := []any{"msg", msg}
		if c != nil {
			if cl := c.Class(); cl != nil {
				attrs = append(attrs, "component", cl.Name())
			}
		}
		logger.Log(context.Background(), slogLevel(l), "ffmpeg", attrs...)
	})
}

func ffmpegLevel(l slog.Level) astiav.LogLevel {
	switch {
	case l <= slog.LevelDebug:
		return astiav.LogLevelVerbose
	case l <= slog.LevelWarn:
		// FFmpeg's info level is per-stream and per-frame chatter (e.g.
		// cropdetect reports every frame): Debug only.
		return astiav.LogLevelWarning
	case l <= slog.LevelError:
		return astiav.LogLevelError
	default:
		return astiav.LogLevelQuiet
	}
}

func slogLevel(l astiav.LogLevel) slog.Level {
	switch {
	case l <= astiav.LogLevelError:
		return slog.LevelError
	case l <= astiav.LogLevelWarning:
		return slog.LevelWarn
	default:
		return slog.LevelDebug
	}
}
