import NIOCore

/// A channel handler that writes encoded frames and flushes them once per event-loop tick.
///
/// Writes queued in the same tick share one flush, and so one TLS record and one system call:
/// with many concurrent calls on a connection this is most of the transport's throughput.
protocol CoalescingFrameWriter: ChannelInboundHandler, AnyObject, SendableMetatype where OutboundOut == ByteBuffer {
    /// The context to write to, or nil when the handler must not write (removed or closing).
    var writableContext: ChannelHandlerContext? { get }
    /// Whether a flush is already scheduled for this tick.
    var flushScheduled: Bool { get set }
}

extension CoalescingFrameWriter {
    /// Encodes one or more frames with `body` and writes them; a flush follows within the tick.
    func writeFrames(_ body: (inout ByteBuffer) -> Void) {
        guard let context = self.writableContext else { return }
        var buffer = context.channel.allocator.buffer(capacity: 64)
        body(&buffer)
        context.write(self.wrapOutboundOut(buffer), promise: nil)
        if !self.flushScheduled {
            self.flushScheduled = true
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.execute { loopBound.value.flushIfNeeded() }
        }
    }

    /// Flushes if writes are pending (also called from `channelReadComplete`).
    func flushIfNeeded() {
        guard self.flushScheduled, let context = self.writableContext else { return }
        self.flushScheduled = false
        context.flush()
    }
}
