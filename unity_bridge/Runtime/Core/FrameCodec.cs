using System;

namespace AvatarForcing.Core
{
    /// <summary>
    /// The binary motion frame record (.afm frame; one websocket binary message), little-endian:
    /// uint32 index | float64 time | uint16 flags | uint16 reserved | N x float32 values.
    /// </summary>
    public static class FrameCodec
    {
        /// <summary>Decode one frame record; ProtocolException("bad_frame") on a wrong size or NaN/Inf.</summary>
        public static MotionFrame Decode(byte[] data)
        {
            if (data == null) throw new ArgumentNullException("data");
            return Decode(data, 0, data.Length, MotionChannels.Count);
        }

        /// <summary>Decode a record of <paramref name="channels"/> values from data[offset, offset+count).</summary>
        public static MotionFrame Decode(byte[] data, int offset, int count, int channels)
        {
            int expected = MotionChannels.FrameHeaderBytes + 4 * channels;
            if (count != expected)
                throw new ProtocolException("bad_frame",
                    string.Format("a binary motion frame is {0} bytes, got {1}", expected, count));
            long index = ReadUInt32(data, offset);
            double time = ReadDouble(data, offset + 4);
            ushort flags = (ushort)(data[offset + 12] | (data[offset + 13] << 8));
            if (double.IsNaN(time) || double.IsInfinity(time))
                throw new ProtocolException("bad_frame", string.Format("frame {0}: timestamp is NaN or Inf", index));
            var values = new float[channels];
            for (int i = 0; i < channels; i++)
            {
                float v = ReadSingle(data, offset + MotionChannels.FrameHeaderBytes + 4 * i);
                if (float.IsNaN(v) || float.IsInfinity(v))
                    throw new ProtocolException("bad_frame",
                        string.Format("frame {0}: value {1} is NaN or Inf", index, i));
                values[i] = v;
            }
            return new MotionFrame(index, time, flags, values);
        }

        /// <summary>Encode a frame record (the inverse of Decode).</summary>
        public static byte[] Encode(MotionFrame frame)
        {
            var values = frame.Values;
            var data = new byte[MotionChannels.FrameHeaderBytes + 4 * values.Length];
            WriteUInt32(data, 0, (uint)frame.Index);
            WriteBytes(data, 4, BitConverter.GetBytes(frame.Time));
            data[12] = (byte)(frame.Flags & 0xFF);
            data[13] = (byte)(frame.Flags >> 8);
            for (int i = 0; i < values.Length; i++)
                WriteBytes(data, MotionChannels.FrameHeaderBytes + 4 * i, BitConverter.GetBytes(values[i]));
            return data;
        }

        static long ReadUInt32(byte[] d, int o)
        {
            return (long)((uint)d[o] | ((uint)d[o + 1] << 8) | ((uint)d[o + 2] << 16) | ((uint)d[o + 3] << 24));
        }

        static double ReadDouble(byte[] d, int o)
        {
            if (BitConverter.IsLittleEndian) return BitConverter.ToDouble(d, o);
            var tmp = new byte[8];
            for (int i = 0; i < 8; i++) tmp[i] = d[o + 7 - i];
            return BitConverter.ToDouble(tmp, 0);
        }

        static float ReadSingle(byte[] d, int o)
        {
            if (BitConverter.IsLittleEndian) return BitConverter.ToSingle(d, o);
            var tmp = new byte[] { d[o + 3], d[o + 2], d[o + 1], d[o] };
            return BitConverter.ToSingle(tmp, 0);
        }

        static void WriteUInt32(byte[] d, int o, uint v)
        {
            d[o] = (byte)v;
            d[o + 1] = (byte)(v >> 8);
            d[o + 2] = (byte)(v >> 16);
            d[o + 3] = (byte)(v >> 24);
        }

        static void WriteBytes(byte[] d, int o, byte[] native)
        {
            if (!BitConverter.IsLittleEndian) Array.Reverse(native);
            Buffer.BlockCopy(native, 0, d, o, native.Length);
        }
    }
}
