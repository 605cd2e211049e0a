package io.micropod.agent.rpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.micropod.agent.base.Log;
import io.micropod.agent.runtime.ContainerException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;

/** Maps the agent's failures onto gRPC statuses, and answers unary calls. */
final class Statuses {
  private Statuses() {}

  static StatusRuntimeException toStatus(Throwable t) {
    Throwable e = t;
    while ((e instanceof CompletionException || e instanceof ExecutionException)
        && e.getCause() != null) {
      e = e.getCause();
    }
    if (e instanceof StatusRuntimeException) {
      return (StatusRuntimeException) e;
    }
    if (e instanceof ContainerException) {
      ContainerException ce = (ContainerException) e;
      return code(ce.reason()).withDescription(ce.getMessage()).withCause(ce).asRuntimeException();
    }
    Log.warn("unexpected failure", e);
    return Status.INTERNAL.withDescription(String.valueOf(e)).withCause(e).asRuntimeException();
  }

  private static Status code(ContainerException.Reason reason) {
    switch (reason) {
      case INVALID_ARGUMENT:
        return Status.INVALID_ARGUMENT;
      case NOT_FOUND:
        return Status.NOT_FOUND;
      case ALREADY_EXISTS:
        return Status.ALREADY_EXISTS;
      case FAILED_PRECONDITION:
        return Status.FAILED_PRECONDITION;
      case UNIMPLEMENTED:
        return Status.UNIMPLEMENTED;
      case DEADLINE_EXCEEDED:
        return Status.DEADLINE_EXCEEDED;
      default:
        return Status.INTERNAL;
    }
  }

  /** Answers a unary call with {@code body}'s result, or with the status of what it threw. */
  static <R> void reply(StreamObserver<R> observer, Supplier<R> body) {
    R result;
    try {
      result = body.get();
    } catch (RuntimeException e) {
      observer.onError(toStatus(e));
      return;
    }
    observer.onNext(result);
    observer.onCompleted();
  }

  /** Answers a unary call once {@code result} is known (value or failure). */
  static <R> void reply(StreamObserver<R> observer, R result, Throwable failure) {
    if (failure != null) {
      observer.onError(toStatus(failure));
    } else {
      observer.onNext(result);
      observer.onCompleted();
    }
  }
}
