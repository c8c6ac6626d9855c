using AvatarForcing.Core;
using NUnit.Framework;

namespace AvatarForcing.Editor.Tests
{
    [TestFixture]
    public class JitterBufferTests
    {
        static MotionFrame Frame(long i, float v, double arrival)
        {
            var values = new float[MotionChannels.Count];
            for (int k = 0; k < values.Length; k++) values[k] = v;
            return new MotionFrame(i, i / 25.0, 0, values) { ArrivalTime = arrival };
        }

        [Test]
        public void InterpolatesAtTheRenderRate()
        {
            var jb = new JitterBuffer(0.1);
            for (int i = 0; i < 5; i++) jb.Add(Frame(i, i, 100 + i / 25.0));
            var output = new float[MotionChannels.Count];
            // render at 60 fps: value = frame time × 25
            for (int r = 0; r < 9; r++)
            {
                double t = r / 60.0;
                Assert.IsTrue(jb.Sample(100 + t + 0.1, output));
                Assert.AreEqual(t * 25, output[0], 1e-4, "t=" + t);
            }
        }

        [Test]
        public void HoldsTheLastFrameWhenStarvedAndCountsIt()
        {
            var jb = new JitterBuffer(0.0);
            jb.Add(Frame(0, 1f, 5.0));
            jb.Add(Frame(1, 2f, 5.04));
            var output = new float[MotionChannels.Count];
            jb.Sample(6.0, output);
            Assert.AreEqual(2f, output[0]);
            Assert.IsTrue(jb.LastSampleStarved);
            Assert.AreEqual(1, jb.StarvedSamples);
        }

        [Test]
        public void ResetsWhenTheStreamRestarts()
        {
            var jb = new JitterBuffer(0.0);
            for (int i = 100; i < 110; i++) jb.Add(Frame(i, 1f, i / 25.0));
            jb.Add(Frame(0, 7f, 4.5));
            Assert.AreEqual(1, jb.Resets);
            var output = new float[MotionChannels.Count];
            jb.Sample(4.5, output);
            Assert.AreEqual(7f, output[0]);
        }

        [Test]
        public void ResetsOnANewConnection()
        {
            var jb = new JitterBuffer(0.0);
            jb.Add(Frame(0, 1f, 1.0));
            var next = Frame(1, 2f, 9.0);
            next.Connection = 2; // reconnected: its clock offset is unrelated to the old one
            jb.Add(next);
            Assert.AreEqual(1, jb.Resets);
            Assert.AreEqual(1, jb.Count);
        }

        [Test]
        public void DropsDuplicates()
        {
            var jb = new JitterBuffer(0.0);
            jb.Add(Frame(0, 1f, 1.0));
            jb.Add(Frame(0, 1f, 1.01));
            Assert.AreEqual(1, jb.Count);
            Assert.AreEqual(1, jb.DuplicateFrames);
        }
    }
}
