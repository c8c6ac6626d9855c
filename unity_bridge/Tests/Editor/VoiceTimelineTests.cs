using AvatarForcing.Core;
using NUnit.Framework;

namespace AvatarForcing.Editor.Tests
{
    [TestFixture]
    public class VoiceTimelineTests
    {
        [Test]
        public void VoiceStartsAtItsMotionTime()
        {
            var voice = new VoiceTimeline();
            var samples = new float[1600]; // 0.1 s at 16 kHz
            for (int i = 0; i < samples.Length; i++) samples[i] = 0.5f;
            voice.Push(new AudioChunk("avatar", 1.0, 16000, samples));
            var output = new float[2 * 3200]; // 0.2 s, stereo, 16 kHz output
            int voiced = voice.Read(output, 2, 16000, 0.95);
            Assert.AreEqual(0f, output[0]);               // t = 0.95: silence
            Assert.AreEqual(0f, output[2 * 799]);         // t just before 1.0
            Assert.AreEqual(0.5f, output[2 * 800]);       // t = 1.0: the voice starts
            Assert.AreEqual(0.5f, output[2 * 800 + 1]);   // on both channels
            Assert.AreEqual(1600, voiced);
        }

        [Test]
        public void ResyncsWhenPlaybackDrifts()
        {
            var voice = new VoiceTimeline();
            voice.Push(new AudioChunk("avatar", 0.0, 16000, new float[16000]));
            var output = new float[160];
            voice.Read(output, 1, 16000, 0.0);
            voice.Read(output, 1, 16000, 0.01); // continuous: no resync
            voice.Read(output, 1, 16000, 0.5);  // far off: jump
            Assert.AreEqual(1, voice.Resyncs);
        }
    }
}
