using AvatarForcing.Core;
using NUnit.Framework;

namespace AvatarForcing.Editor.Tests
{
    [TestFixture]
    public class FrameCodecTests
    {
        static MotionFrame Sample()
        {
            var values = new float[MotionChannels.Count];
            for (int i = 0; i < values.Length; i++) values[i] = i * 0.01f - 0.3f;
            return new MotionFrame(4000000000L, 12.34, MotionFrame.FlagNoFace, values);
        }

        [Test]
        public void RoundTripKeepsEveryField()
        {
            var f = Sample();
            var bytes = FrameCodec.Encode(f);
            Assert.AreEqual(264, bytes.Length);
            Assert.AreEqual(MotionChannels.FrameBytes, bytes.Length);
            var g = FrameCodec.Decode(bytes);
            Assert.AreEqual(f.Index, g.Index);
            Assert.AreEqual(f.Time, g.Time);
            Assert.AreEqual(f.Flags, g.Flags);
            Assert.IsFalse(g.HasFace);
            CollectionAssert.AreEqual(f.Values, g.Values);
        }

        [Test]
        public void WrongSizeIsABadFrame()
        {
            var bytes = FrameCodec.Encode(Sample());
            var shorter = new byte[bytes.Length - 1];
            System.Array.Copy(bytes, shorter, shorter.Length);
            var e = Assert.Throws<ProtocolException>(() => FrameCodec.Decode(shorter));
            Assert.AreEqual("bad_frame", e.Code);
        }

        [Test]
        public void NaNIsABadFrame()
        {
            var f = Sample();
            f.Values[5] = float.NaN;
            var e = Assert.Throws<ProtocolException>(() => FrameCodec.Decode(FrameCodec.Encode(f)));
            Assert.AreEqual("bad_frame", e.Code);
        }
    }
}
