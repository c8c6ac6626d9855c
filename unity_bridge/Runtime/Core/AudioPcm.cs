using System;

namespace AvatarForcing.Core
{
    /// <summary>PCM16 little-endian ⇄ float conversion, down-mixing and resampling for the audio messages.</summary>
    public static class AudioPcm
    {
        /// <summary>Floats in -1..1 → PCM16 little-endian bytes (clipped).</summary>
        public static byte[] ToPcm16(float[] samples, int offset, int count)
        {
            var bytes = new byte[count * 2];
            for (int i = 0; i < count; i++)
            {
                float f = samples[offset + i];
                if (f > 1f) f = 1f; else if (f < -1f) f = -1f;
                short s = (short)Math.Round(f * 32767f);
                bytes[2 * i] = (byte)(s & 0xFF);
                bytes[2 * i + 1] = (byte)((s >> 8) & 0xFF);
            }
            return bytes;
        }

        /// <summary>PCM16 little-endian bytes → floats (÷32768); an odd byte count is a ProtocolException.</summary>
        public static float[] FromPcm16(byte[] bytes)
        {
            if (bytes.Length % 2 != 0)
                throw new ProtocolException("bad_audio", string.Format("PCM16 data has an odd length ({0} bytes)", bytes.Length));
            var samples = new float[bytes.Length / 2];
            for (int i = 0; i < samples.Length; i++)
                samples[i] = (short)(bytes[2 * i] | (bytes[2 * i + 1] << 8)) / 32768f;
            return samples;
        }

        /// <summary>Interleaved multi-channel audio → mono (mean of channels).</summary>
        public static float[] Downmix(float[] interleaved, int channels)
        {
            if (channels <= 1) return interleaved;
            var mono = new float[interleaved.Length / channels];
            for (int i = 0; i < mono.Length; i++)
            {
                float sum = 0f;
                for (int c = 0; c < channels; c++) sum += interleaved[i * channels + c];
                mono[i] = sum / channels;
            }
            return mono;
        }

        /// <summary>
        /// Linear-interpolation resampling. Good enough for speech to 16 kHz (the model's features are
        /// 80 mel bands below 8 kHz); use the engine's resampler when quality matters more than size.
        /// </summary>
        public static float[] Resample(float[] mono, int fromRate, int toRate)
        {
            if (fromRate <= 0 || toRate <= 0) throw new ArgumentException("sample rates must be positive");
            if (fromRate == toRate || mono.Length == 0) return mono;
            int n = (int)Math.Floor((long)mono.Length * (double)toRate / fromRate);
            var output = new float[n];
            double step = (double)fromRate / toRate;
            for (int i = 0; i < n; i++)
            {
                double src = i * step;
                int a = (int)src;
                int b = Math.Min(a + 1, mono.Length - 1);
                float frac = (float)(src - a);
                output[i] = mono[a] + (mono[b] - mono[a]) * frac;
            }
            return output;
        }
    }
}
